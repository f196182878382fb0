// esbuild bundles CSS imported from the dashboard into its stylesheet.
declare module "*.css" {}
