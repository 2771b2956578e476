using Dcis.Crisis.Notifications;

await NotificationsApp.Create(args).RunAsync();
