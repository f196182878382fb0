// The part of jStat Verge uses (the package ships no types). Its CommonJS export is the object.
declare module "jstat" {
  const jStat: {
    chisquare: { cdf(x: number, dof: number): number };
    normal: { inv(p: number, mean: number, sd: number): number; cdf(x: number, mean: number, sd: number): number };
  };
  export default jStat;
}
