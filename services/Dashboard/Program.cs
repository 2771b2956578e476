using Dcis.Crisis.Dashboard;

await DashboardApp.Create(args).RunAsync();
