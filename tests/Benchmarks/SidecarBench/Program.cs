using Dcis.Crisis.Benchmarks.SidecarBench;

// dotnet run -c Release --project tests/Benchmarks/SidecarBench [-- <messages>]
var messages = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5000;

// Measure the Release build of the dev sidecar (built with this project), not whichever build is newest.
if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DEV_SIDECAR_DLL")))
{
    var release = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "..",
        "deploy", "local", "DevSidecar", "bin", "Release", "net10.0", "dev-sidecar.dll"));
    if (File.Exists(release))
    {
        Environment.SetEnvironmentVariable("DEV_SIDECAR_DLL", release);
    }
}

Console.WriteLine($"dev sidecar: {Dcis.Crisis.Testing.DevSidecarProcess.LocateDll()}");
await Bench.RunAsync(messages);
