using Dcis.Crisis.Benchmarks.SidecarBench;

// dotnet run -c Release --project tests/Benchmarks/SidecarBench [-- <messages>]
var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5000;
await Bench.RunAsync(messages);
