using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Google.Rpc;
using Grpc.Core;

namespace Dcis.Crisis.Consular.Tests.Grpc;

public sealed class RegistryTests : IAsyncLifetime
{
    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    private static List<string> Fields(RpcException e) =>
        e.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations.Select(v => v.Field).ToList();

    [Fact]
    public async Task Register_Rejects_BadFields_WithTheirNames_AndStoresNothing()
    {
        var r = ConsularTestHost.Traveller("ML", 5, 1);
        r.Mobile = "0612345678";
        r.Email = "not-an-email";
        r.Trips[0].SubdivisionCode = "NE-1";
        r.Language = Language.Unspecified;

        var error = await Assert.ThrowsAsync<RpcException>(() => _t.Officer("post-bamako").RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = r }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("registrant.mobile", Fields(error));
        Assert.Contains("registrant.email", Fields(error));
        Assert.Contains("registrant.trips[0].to_date", Fields(error));
        Assert.Contains("registrant.trips[0].subdivision_code", Fields(error));
        Assert.Contains("registrant.language", Fields(error));
        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM registrants"));
    }

    [Fact]
    public async Task Registrant_RegistersThemselves_AndSeesOnlyThemselves()
    {
        var me = _t.As("registrant", registrantId: "reg-me");
        var registered = (await me.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = ConsularTestHost.Resident("ML") })).Registrant;
        var other = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));

        var mine = await me.GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = "reg-me" });
        var error = await Assert.ThrowsAsync<RpcException>(() => me.GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = other.RegistrantId }).ResponseAsync);

        Assert.Equal("reg-me", registered.RegistrantId);
        Assert.Equal("reg-me", mine.Registrant.RegistrantId);
        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task Officer_CannotRegisterReadOrEraseOutsideTheirJurisdiction()
    {
        var malian = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var niamey = _t.Officer("post-niamey");

        var register = await Assert.ThrowsAsync<RpcException>(() => niamey.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = ConsularTestHost.Resident("ML") }).ResponseAsync);
        var read = await Assert.ThrowsAsync<RpcException>(() => niamey.GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = malian.RegistrantId }).ResponseAsync);
        var trip = await Assert.ThrowsAsync<RpcException>(() => niamey.AddTripAsync(new AddTripRequest
        {
            RegistrantId = malian.RegistrantId,
            Leg = new TripLeg { CountryCode = "ML", FromDate = ConsularTestHost.Date(1), ToDate = ConsularTestHost.Date(2) },
        }).ResponseAsync);
        var erase = await Assert.ThrowsAsync<RpcException>(() => niamey.EraseRegistrantAsync(new EraseRegistrantRequest { RegistrantId = malian.RegistrantId, Reason = "x" }).ResponseAsync);

        Assert.All(new[] { register, read, trip, erase }, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Equal(1, await _t.CountAsync("SELECT COUNT(*) FROM registrants"));
    }

    [Fact]
    public async Task CountsOnlyRoles_CannotTouchPersonalData()
    {
        var person = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        foreach (var role in new[] { "crisis-cell-viewer", "analyst" })
        {
            var client = _t.As(role);
            var get = await Assert.ThrowsAsync<RpcException>(() => client.GetRegistrantAsync(new GetRegistrantRequest { RegistrantId = person.RegistrantId }).ResponseAsync);
            var register = await Assert.ThrowsAsync<RpcException>(() => client.RegisterRegistrantAsync(new RegisterRegistrantRequest { Registrant = ConsularTestHost.Resident("ML") }).ResponseAsync);
            var erase = await Assert.ThrowsAsync<RpcException>(() => client.EraseRegistrantAsync(new EraseRegistrantRequest { RegistrantId = person.RegistrantId, Reason = "x" }).ResponseAsync);
            var trip = await Assert.ThrowsAsync<RpcException>(() => client.AddTripAsync(new AddTripRequest { RegistrantId = person.RegistrantId }).ResponseAsync);
            var stream = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                using var call = client.StreamPresence(new StreamPresenceRequest { Area = new Area { CountryCode = "ML" } });
                await call.ResponseStream.MoveNext();
            });
            Assert.All(new[] { get, register, erase, trip, stream }, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
            var counts = await client.CountPresenceAsync(new CountPresenceRequest { Area = new Area { CountryCode = "ML" } });
            Assert.Equal(1, counts.TotalPresent);
        }
    }

    [Fact]
    public async Task Unauthenticated_IsRefused()
    {
        var anonymous = new ConsularService.ConsularServiceClient(_t.Host.Channel());
        var error = await Assert.ThrowsAsync<RpcException>(() => anonymous.ListPostsAsync(new ListPostsRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
    }

    [Fact]
    public async Task Posts_AreSeeded_WithJurisdictions()
    {
        var all = await _t.As("registrant", "reg-x").ListPostsAsync(new ListPostsRequest { PageSize = 500 });
        var pk = await _t.As("analyst").ListPostsAsync(new ListPostsRequest { CountryCode = "PK" });

        Assert.True(all.Posts.Count >= 25);
        Assert.Equal(new[] { "post-islamabad", "post-karachi" }, pk.Posts.Select(p => p.PostId));
        Assert.Contains("PK-SD", pk.Posts[1].Jurisdictions[0].SubdivisionCodes);
    }

    [Fact]
    public async Task Erase_RemovesEveryTrace_IncludingOutboxRows()
    {
        var person = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var keeper = await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        await _t.Officer("post-bamako").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock));
        await _t.Officer("post-bamako").StartWellbeingCheckAsync(new StartWellbeingCheckRequest { Area = new Area { CountryCode = "ML" } });

        var erased = await _t.Officer("post-bamako").EraseRegistrantAsync(new EraseRegistrantRequest { RegistrantId = person.RegistrantId, Reason = "erasure request" });

        Assert.True(erased.RowsRemoved >= 4);
        foreach (var table in new[] { "registrants", "trips", "alert_recipients", "wellbeing_targets" })
        {
            Assert.Equal(0, await _t.CountAsync($"SELECT COUNT(*) FROM {table} WHERE registrant_id = $r", ("$r", person.RegistrantId)));
        }

        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM outbox WHERE instr(data, $r) > 0", ("$r", person.RegistrantId)));
        var batches = await _t.OutboxAsync<NotificationRequested>("notification-requested");
        Assert.All(batches, b => Assert.Equal(keeper.RegistrantId, Assert.Single(b.Recipients).RecipientId));
    }
}
