using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.ThreatLevels.Tests;

/// <summary>One threat-levels service on real Kestrel, real SQLite and real tokens, shared by a test class.
/// Tests use distinct countries so that they do not see each other's assessments.</summary>
public sealed class ThreatLevelsFixture : IAsyncLifetime
{
    private readonly List<GrpcChannel> _channels = [];

    public ServiceHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await ServiceHost.StartAsync(ThreatLevelsApp.Create, Settings);

    /// <summary>Extra configuration for the host (e.g. a short heartbeat).</summary>
    public IReadOnlyDictionary<string, string>? Settings { get; init; }

    public ThreatLevelsService.ThreatLevelsServiceClient Client(string role, string subject = "analyst-1", IReadOnlyList<string>? countries = null)
    {
        var channel = Host.Channel(Host.Token(role, subject, countries: countries));
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return new ThreatLevelsService.ThreatLevelsServiceClient(channel);
    }

    public ThreatLevelsService.ThreatLevelsServiceClient Analyst(string subject = "analyst-1") => Client(Roles.Analyst, subject);

    public ThreatLevelsService.ThreatLevelsServiceClient Anonymous()
    {
        var channel = Host.Channel();
        lock (_channels)
        {
            _channels.Add(channel);
        }

        return new ThreatLevelsService.ThreatLevelsServiceClient(channel);
    }

    public async Task DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }

        await Host.DisposeAsync();
    }
}

/// <summary>Builders and assertions shared by the tests.</summary>
internal static class Build
{
    public static AssessmentDraft Country(string country, ThreatLevel level, long expectedVersion = 0, string reason = "test change") => new()
    {
        Area = new Area { CountryCode = country },
        Level = level,
        Reason = reason,
        ExpectedVersion = expectedVersion,
        Summary = new LocalizedText { Fr = "Situation", En = "Situation" },
        Advice = new LocalizedText { Fr = "Conseil", En = "Advice" },
    };

    public static AssessmentDraft PolygonZone(string country, ThreatLevel level, params (double Lat, double Lng)[] vertices)
    {
        var draft = Country(country, level);
        draft.Area.Polygon = new Common.V1.Polygon();
        draft.Area.Polygon.Vertices.AddRange(vertices.Select(v => new LatLng { Latitude = v.Lat, Longitude = v.Lng }));
        draft.Area.ZoneName = "zone";
        return draft;
    }

    public static SetAssessmentRequest Set(AssessmentDraft draft) => new() { Assessment = draft };

    public static async Task<Assessment> ApplyAsync(ThreatLevelsService.ThreatLevelsServiceClient client, AssessmentDraft draft)
    {
        var response = await client.SetAssessmentAsync(Set(draft));
        Assert.Equal(ChangeOutcome.Applied, response.Outcome);
        return response.Assessment;
    }

    public static async Task<RpcException> FailsAsync(StatusCode expected, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == ex.StatusCode, $"expected {expected}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }

    /// <summary>The field names of an InvalidArgument's google.rpc.BadRequest.</summary>
    public static IReadOnlyList<string> Fields(RpcException ex)
    {
        var status = ex.GetRpcStatus() ?? throw new InvalidOperationException("no rich status");
        var badRequest = status.GetDetail<BadRequest>() ?? throw new InvalidOperationException("no BadRequest detail");
        return [.. badRequest.FieldViolations.Select(v => v.Field)];
    }
}
