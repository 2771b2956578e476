using Dcis.Crisis.Sample.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Tests.Sample;
using Dcis.Crisis.Testing;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.IdentityModel.Tokens;

namespace Dcis.Crisis.Shared.Tests.Hosting;

public sealed class SharedHostingTests : IAsyncLifetime
{
    private ServiceHost _host = null!;

    public async Task InitializeAsync() => _host = await ServiceHost.StartAsync(SampleApp.Create);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private SampleService.SampleServiceClient Client(string? token) => new(_host.Channel(token));

    [Fact]
    public async Task HealthCheck_Answers_Serving_Without_Token()
    {
        var health = new Health.HealthClient(_host.Channel());
        var reply = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, reply.Status);
    }

    [Fact]
    public async Task HttpHealthz_Answers_Healthy_On_The_Http_Port()
    {
        using var http = new HttpClient { BaseAddress = _host.HttpAddress };
        var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Framework_Request_Logs_Are_Off_By_Default_And_Configuration_Can_Turn_Them_On()
    {
        static bool Enabled(WebApplication app, string category, LogLevel level) =>
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(category).IsEnabled(level);

        await using (var quiet = SampleApp.Create([]))
        {
            Assert.False(Enabled(quiet, "Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Information));
            Assert.False(Enabled(quiet, "System.Net.Http.HttpClient.Health.ClientHandler", LogLevel.Information));
            Assert.True(Enabled(quiet, "Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning));
            Assert.True(Enabled(quiet, "Dcis.Crisis.Consular.Storage.RegistryStore", LogLevel.Information));
            Assert.True(Enabled(quiet, "Microsoft.Hosting.Lifetime", LogLevel.Information));
        }

        await using var verbose = SampleApp.Create(["--Logging:LogLevel:Microsoft.AspNetCore=Information"]);
        Assert.True(Enabled(verbose, "Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Information));
    }

    [Fact]
    public async Task Call_Without_Token_Is_Unauthenticated()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(null).EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task Token_With_Wrong_Role_Is_PermissionDenied()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(_host.Token(Roles.CrisisCellViewer)).EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task Expired_Token_Is_Unauthenticated()
    {
        var key = DevTokens.LoadOrCreateKey(_host.DataDir);
        var expired = DevTokens.Mint(key, new TokenRequest("old", [Roles.Analyst]) { Now = DateTime.UtcNow.AddHours(-3), Lifetime = TimeSpan.FromHours(1) });
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(expired).EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task Token_Signed_With_Another_Key_Is_Unauthenticated()
    {
        var otherKey = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)) { KeyId = "dev" };
        var forged = DevTokens.Mint(otherKey, new TokenRequest("mallory", [Roles.Analyst]));
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(forged).EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task Token_From_Another_Issuer_Is_Unauthenticated()
    {
        var key = DevTokens.LoadOrCreateKey(_host.DataDir);
        var foreign = DevTokens.Mint(key, new TokenRequest("eve", [Roles.Analyst]) { Issuer = "someone-else" });
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(foreign).EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task Valid_Token_Reaches_The_Service_With_Its_Subject()
    {
        var reply = await Client(_host.Token(Roles.Analyst, subject: "ana")).EchoAsync(new EchoRequest { Note = "bonjour" });
        Assert.Equal(("bonjour", "ana"), (reply.Note, reply.Subject));
    }

    [Fact]
    public async Task Remembered_Tokens_Keep_Each_Caller_Apart()
    {
        // Validations are remembered per token string: repeated, interleaved calls must still reach
        // the service as their own caller, and a token refused once stays refused.
        var ana = Client(_host.Token(Roles.Analyst, subject: "ana"));
        var bob = Client(_host.Token(Roles.Analyst, subject: "bob"));
        var viewer = Client(_host.Token(Roles.CrisisCellViewer, subject: "vic"));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("ana", (await ana.EchoAsync(new EchoRequest { Note = "x" })).Subject);
            Assert.Equal("bob", (await bob.EchoAsync(new EchoRequest { Note = "x" })).Subject);
            var ex = await Assert.ThrowsAsync<RpcException>(() => viewer.EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        }
    }

    [Fact]
    public async Task A_Remembered_Token_Is_Refused_Once_It_Expires()
    {
        // Expired 15 s ago: still inside the 30 s clock skew, so accepted (and remembered) now, and
        // refused once the skew has passed although its validation was remembered.
        var key = DevTokens.LoadOrCreateKey(_host.DataDir);
        var token = DevTokens.Mint(key, new TokenRequest("late", [Roles.Analyst]) { Now = DateTime.UtcNow.AddSeconds(-75), Lifetime = TimeSpan.FromMinutes(1) });
        var client = Client(token);
        Assert.Equal("late", (await client.EchoAsync(new EchoRequest { Note = "x" })).Subject);
        Assert.Equal("late", (await client.EchoAsync(new EchoRequest { Note = "x" })).Subject);
        await Task.Delay(TimeSpan.FromSeconds(16));
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.EchoAsync(new EchoRequest { Note = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task Invalid_Fields_Get_InvalidArgument_Naming_Each_Field()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            Client(_host.Token(Roles.Analyst)).EchoAsync(new EchoRequest { Note = "", Phone = "0612" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        var badRequest = ex.GetRpcStatus()!.GetDetail<BadRequest>();
        Assert.Equal(["note", "phone"], badRequest.FieldViolations.Select(v => v.Field).ToArray());
    }

    [Fact]
    public async Task Domain_NotFound_Becomes_NotFound_With_ResourceInfo()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(_host.Token(Roles.Analyst)).FindAsync(new FindRequest { Id = "42" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("42", ex.GetRpcStatus()!.GetDetail<ResourceInfo>().ResourceName);
    }

    [Fact]
    public async Task Oversized_Message_Is_Refused()
    {
        var huge = new EchoRequest { Note = "x", Padding = ByteString.CopyFrom(new byte[2 * 1024 * 1024]) };
        var ex = await Assert.ThrowsAsync<RpcException>(() => Client(_host.Token(Roles.Analyst)).EchoAsync(huge).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }
}
