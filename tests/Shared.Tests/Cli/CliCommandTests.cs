using Dcis.Crisis.Sample.V1;
using Dcis.Crisis.Shared.Tests.Sample;
using Dcis.Crisis.Testing;

namespace Dcis.Crisis.Shared.Tests.Cli;

public sealed class CliCommandTests
{
    private static readonly CrisisCli Cli = new(Path.Combine(AppContext.BaseDirectory, "crisis.dll"));

    [Fact]
    public async Task Token_Printed_By_The_Cli_Is_Accepted_By_A_Service()
    {
        await using var host = await ServiceHost.StartAsync(SampleApp.Create);
        var (exit, token, _) = await Cli.RunAsync("token", "--role", "analyst", "--subject", "cli-user", "--data-dir", host.DataDir);
        Assert.Equal(0, exit);

        var reply = await new SampleService.SampleServiceClient(host.Channel(token)).EchoAsync(new EchoRequest { Note = "ok" });
        Assert.Equal("cli-user", reply.Subject);
    }

    [Fact]
    public async Task Token_Refuses_An_Unknown_Role()
    {
        using var dir = new TempDirectory();
        var (exit, _, _) = await Cli.RunAsync("token", "--role", "superuser", "--data-dir", dir.Path);
        Assert.Equal(2, exit);
    }

    // $CRISIS_TOKEN is still the token the CLI sends, but help no longer prints it as the option's default value.
    [Fact]
    public async Task Help_Does_Not_Print_The_Token_Of_The_Environment_Which_Calls_Still_Carry()
    {
        const string Token = "token-from-the-environment";
        var environment = new Dictionary<string, string> { ["CRISIS_TOKEN"] = Token };

        var (helpExit, help, _) = await Cli.RunAsync(environment, "alerts", "list", "--help");
        Assert.Equal(0, helpExit);
        Assert.Contains("--token", help, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, help, StringComparison.Ordinal);

        // A gRPC endpoint that records the Authorization header of each call and answers Unimplemented.
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port, o => o.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
        await using var app = builder.Build();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        app.MapPost("/{**method}", (HttpContext http) =>
        {
            seen.Enqueue(http.Request.Headers.Authorization.ToString());
            http.Response.ContentType = "application/grpc";
            http.Response.AppendTrailer("grpc-status", "12");
            return Task.CompletedTask;
        });
        await app.StartAsync();
        using var dir = new TempDirectory();

        await Cli.RunAsync(environment, "alerts", "list", "--consular", $"http://127.0.0.1:{port}", "--data-dir", dir.Path);
        await Cli.RunAsync(environment, "alerts", "list", "--consular", $"http://127.0.0.1:{port}", "--data-dir", dir.Path, "--token", "given");

        Assert.Equal(["Bearer " + Token, "Bearer given"], seen);
    }

    // A value the command reads itself (a trip leg, a date, a category) used to end in an unhandled
    // exception's stack trace; it is one line on stderr and exit code 2, like a parse error, and no
    // call is made (the advisories address here answers nothing).
    [Theory]
    [InlineData("travel", "add", "--traveller", "E-1", "--leg", "ML@abc:2026-12-01:2026-12-10", "the point must look like @LAT,LON")]
    [InlineData("travel", "add", "--traveller", "E-1", "--leg", "ML:2026-13-01:2026-12-10", "2026-13-01")]
    [InlineData("subscriptions", "add", "--country", "ML", "--category", "nonsense", "unknown category 'nonsense'")]
    public async Task A_Value_The_Cli_Cannot_Read_Is_One_Line_And_Exit_Code_2(string command, string verb, string option1, string value1, string option2, string value2, string expected)
    {
        using var dir = new TempDirectory();
        var (exit, _, error) = await Cli.RunAsync(command, verb, option1, value1, option2, value2,
            "--token", "unused", "--advisories", "http://127.0.0.1:9", "--data-dir", dir.Path);
        Assert.Equal(2, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error, StringComparison.Ordinal);
    }
}
