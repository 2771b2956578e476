using Dcis.Crisis.Cli;

return await CrisisCli.Build().Parse(args).InvokeAsync();
