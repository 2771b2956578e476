using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Dcis.Crisis.Consular.Bench;

/// <summary>Raw XADD rate from <c>redis-benchmark</c> against the same server.</summary>
internal static partial class RedisBaseline
{
    public static async Task<double> XaddRateAsync(int port, int requests)
    {
        var payload = new string('x', 200);
        var psi = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-n", requests.ToString(CultureInfo.InvariantCulture), "-q", "XADD", "bench-xadd", "*", "data", payload })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException("redis-benchmark did not start");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var match = Rate().Matches(output).LastOrDefault() ?? throw new InvalidOperationException("unexpected redis-benchmark output: " + output);
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"([0-9.]+) requests per second")]
    private static partial Regex Rate();
}
