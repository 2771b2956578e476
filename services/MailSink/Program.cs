using Dcis.Crisis.MailSink;

await MailSinkApp.Create(args).RunAsync();
