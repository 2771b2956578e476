using Dcis.Crisis.SmsSink;

await SmsSinkApp.Create(args).RunAsync();
