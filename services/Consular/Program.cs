using Dcis.Crisis.Consular;

await ConsularApp.Create(args).RunAsync();
