using Dcis.Crisis.ThreatLevels;

await ThreatLevelsApp.Create(args).RunAsync();
