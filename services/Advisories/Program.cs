using Dcis.Crisis.Advisories;

await AdvisoriesApp.Create(args).RunAsync();
