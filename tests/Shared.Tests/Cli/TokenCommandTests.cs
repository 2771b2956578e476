using System.Diagnostics;
using Dcis.Crisis.Sample.V1;
using Dcis.Crisis.Shared.Tests.Sample;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Shared.Tests.Cli;

public sealed class TokenCommandTests
{
    private static async Task<(int ExitCode, string Output)> RunCliAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "crisis.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output.Trim());
    }

    [Fact]
    public async Task Token_Printed_By_The_Cli_Is_Accepted_By_A_Service()
    {
        await using var host = await ServiceHost.StartAsync(SampleApp.Create);
        var (exit, token) = await RunCliAsync("token", "--role", "analyst", "--subject", "cli-user", "--data-dir", host.DataDir);
        Assert.Equal(0, exit);

        var reply = await new SampleService.SampleServiceClient(host.Channel(token)).EchoAsync(new EchoRequest { Note = "ok" });
        Assert.Equal("cli-user", reply.Subject);
    }

    [Fact]
    public async Task Token_Refuses_An_Unknown_Role()
    {
        using var dir = new TempDirectory();
        var (exit, _) = await RunCliAsync("token", "--role", "superuser", "--data-dir", dir.Path);
        Assert.Equal(2, exit);
    }
}
