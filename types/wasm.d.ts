// wrangler turns a `.wasm` import into a WebAssembly.Module compiled at build time.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
