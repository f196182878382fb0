// wrangler imports `.txt` and `.html` files as text modules (its default rules): the dashboard's assets.
declare module "*.txt" {
  const text: string;
  export default text;
}
declare module "*.html" {
  const text: string;
  export default text;
}
