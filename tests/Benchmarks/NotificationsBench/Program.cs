using Dcis.Crisis.Notifications.Bench;

return args.Length > 0 && args[0] == "serve-notifications" ? await Modes.ServeNotificationsAsync(args[1..])
    : args.Length > 0 && args[0] == "serve-bare" ? await Modes.ServeBareAsync(args[1..], slim: false)
    : args.Length > 0 && args[0] == "serve-bare-slim" ? await Modes.ServeBareAsync(args[1..], slim: true)
    : await Orchestrator.RunAsync(args);
