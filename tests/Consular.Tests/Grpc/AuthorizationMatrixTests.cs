using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Testing;
using Grpc.Core;

namespace Dcis.Crisis.Consular.Tests.Grpc;

/// <summary>
/// Every RPC against every role and against no token: who gets in (any answer but Unauthenticated or
/// PermissionDenied) and who is refused. Object-level rules (an officer's jurisdiction, a registrant
/// only themselves) are tested where each RPC is; this table pins the role gate of all of them.
/// </summary>
public sealed class AuthorizationMatrixTests : IAsyncLifetime
{
    private const string Post = "post-bamako";
    private static readonly string[] AllRoles = [Roles.Analyst, Roles.Attache, Roles.ConsularOfficer, Roles.CompanySecurity, Roles.Registrant, Roles.CrisisCellViewer];
    private static readonly string[] Officers = [Roles.ConsularOfficer];
    private static readonly string[] People = [Roles.ConsularOfficer, Roles.Registrant];
    private static readonly string[] Counts = [Roles.ConsularOfficer, Roles.Analyst, Roles.CrisisCellViewer];

    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    /// <summary>One RPC: the roles let through, and the call made with a client for a given registrant.</summary>
    private sealed record Rpc(string Name, string[] Allowed, Func<ConsularService.ConsularServiceClient, Fixture, Task> Call);

    /// <summary>Objects each call refers to, created fresh for every (RPC, role) so destructive calls do not interfere.</summary>
    private sealed record Fixture(string RegistrantId, string AlertId, string CheckId);

    private static Rpc[] Rpcs() =>
    [
        new("ListPosts", AllRoles, (c, _) => c.ListPostsAsync(new ListPostsRequest()).ResponseAsync),
        new("GetPost", AllRoles, (c, _) => c.GetPostAsync(new GetPostRequest { PostId = Post }).ResponseAsync),
        new("RegisterRegistrant", People, (c, _) => c.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = ConsularTestHost.Resident("ML") }).ResponseAsync),
        new("AddTrip", People, (c, f) => c.AddTripAsync(new AddTripRequest
        {
            RegistrantId = f.RegistrantId,
            Leg = new TripLeg { CountryCode = "ML", FromDate = ConsularTestHost.Date(1), ToDate = ConsularTestHost.Date(5) },
        }).ResponseAsync),
        new("GetRegistrant", People, (c, f) => c.GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = f.RegistrantId }).ResponseAsync),
        new("EraseRegistrant", People, (c, f) => c.EraseRegistrantAsync(new EraseRegistrantRequest { RegistrantId = f.RegistrantId, Reason = "request" }).ResponseAsync),
        new("StreamPresence", Officers, async (c, _) =>
        {
            using var call = c.StreamPresence(new StreamPresenceRequest { Area = new Area { CountryCode = "ML" } });
            while (await call.ResponseStream.MoveNext())
            {
            }
        }),
        new("CountPresence", Counts, (c, _) => c.CountPresenceAsync(new CountPresenceRequest { Area = new Area { CountryCode = "ML" } }).ResponseAsync),
        new("IssueAlert", Officers, (c, _) => c.IssueAlertAsync(TestAlerts.Request("ML", new ManualClock(ConsularTestHost.Start))).ResponseAsync),
        new("UpdateAlert", Officers, (c, f) => c.UpdateAlertAsync(new UpdateAlertRequest
        {
            AlertId = f.AlertId,
            Headline = new LocalizedText { Fr = "Mise à jour", En = "Update" },
            Body = new LocalizedText { Fr = "Texte.", En = "Text." },
        }).ResponseAsync),
        new("CancelAlert", Officers, (c, f) => c.CancelAlertAsync(new CancelAlertRequest { AlertId = f.AlertId, Reason = "error" }).ResponseAsync),
        new("GetAlertStatus", Counts, (c, f) => c.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = f.AlertId }).ResponseAsync),
        new("ListAlerts", Counts, (c, _) => c.ListAlertsAsync(new ListAlertsRequest()).ResponseAsync),
        new("ExportAlertCap", Counts, (c, f) => c.ExportAlertCapAsync(new ExportAlertCapRequest { AlertId = f.AlertId }).ResponseAsync),
        new("StartWellbeingCheck", Officers, (c, _) => c.StartWellbeingCheckAsync(new StartWellbeingCheckRequest { Area = new Area { CountryCode = "ML" } }).ResponseAsync),
        new("AnswerWellbeingCheck", AllRoles, (c, f) => c.AnswerWellbeingCheckAsync(new AnswerWellbeingCheckRequest
        {
            CheckId = f.CheckId, RegistrantId = f.RegistrantId, ReplyCode = "NOCODE", Answer = WellbeingAnswer.Safe,
        }).ResponseAsync),
        new("GetWellbeingStatus", Counts, (c, f) => c.GetWellbeingStatusAsync(new GetWellbeingStatusRequest { CheckId = f.CheckId }).ResponseAsync),
        new("ListFollowUps", Officers, (c, f) => c.ListFollowUpsAsync(new ListFollowUpsRequest { CheckId = f.CheckId }).ResponseAsync),
    ];

    [Fact]
    public void The_Matrix_Covers_Every_Rpc_Of_The_Service()
    {
        var declared = ConsularService.Descriptor.Methods.Select(m => m.Name).Order();
        Assert.Equal(declared, Rpcs().Select(r => r.Name).Order());
    }

    [Fact]
    public async Task Every_Rpc_Refuses_A_Call_Without_Token()
    {
        var anonymous = new ConsularService.ConsularServiceClient(_t.Host.Channel());
        var fixture = await NewFixtureAsync();
        foreach (var rpc in Rpcs())
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => rpc.Call(anonymous, fixture));
            Assert.True(error.StatusCode == StatusCode.Unauthenticated, $"{rpc.Name} without token: {error.StatusCode}");
        }
    }

    [Fact]
    public async Task Every_Rpc_Lets_In_Exactly_The_Roles_Of_Its_Policy()
    {
        var failures = new List<string>();
        foreach (var rpc in Rpcs())
        {
            foreach (var role in AllRoles)
            {
                var fixture = await NewFixtureAsync();
                var token = _t.Host.Token(role, $"{role}-user", postId: role == Roles.ConsularOfficer ? Post : null,
                    registrantId: role == Roles.Registrant ? fixture.RegistrantId : null, countries: role == Roles.Attache ? ["ML"] : null);
                StatusCode? refused = null;
                try
                {
                    await rpc.Call(_t.Client(token), fixture);
                }
                catch (RpcException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated)
                {
                    refused = e.StatusCode;
                }
                catch (RpcException)
                {
                    // Past the gate: the request itself was judged (not found, invalid…).
                }

                var allowed = rpc.Allowed.Contains(role);
                if (allowed && refused is not null)
                {
                    failures.Add($"{rpc.Name}: {role} should get in, got {refused}");
                }
                else if (!allowed && refused != StatusCode.PermissionDenied)
                {
                    failures.Add($"{rpc.Name}: {role} should be refused (PermissionDenied), got {refused?.ToString() ?? "in"}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private async Task<Fixture> NewFixtureAsync()
    {
        var person = await _t.RegisterAsync(Post, ConsularTestHost.Resident("ML"));
        var alert = (await _t.Officer(Post).IssueAlertAsync(TestAlerts.Request("ML", _t.Clock))).Alert;
        var check = (await _t.Officer(Post).StartWellbeingCheckAsync(new StartWellbeingCheckRequest { Area = new Area { CountryCode = "ML" } })).Check;
        return new Fixture(person.RegistrantId, alert.AlertId, check.CheckId);
    }
}
