using System.Xml.Linq;
using System.Xml.Schema;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Jobs;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Grpc.Core;

namespace Dcis.Crisis.Consular.Tests.Grpc;

public sealed class AlertTests : IAsyncLifetime
{
    private readonly ConsularTestHost _t = new();

    public Task InitializeAsync() => _t.InitializeAsync();

    public Task DisposeAsync() => _t.DisposeAsync();

    [Fact]
    public async Task Cancel_DropsUndeliveredMessages_AndRequestsCancellation()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var officer = _t.Officer("post-bamako");
        var alert = (await officer.IssueAlertAsync(TestAlerts.Request("ML", _t.Clock))).Alert;

        var cancel = (await officer.CancelAlertAsync(new CancelAlertRequest { AlertId = alert.AlertId, Reason = "issued in error" })).Alert;

        var unsent = await _t.OutboxAsync<NotificationRequested>("notification-requested", unsentOnly: true);
        var request = Assert.Single(unsent);
        Assert.Equal(NotificationAction.Cancel, request.Action);
        Assert.Equal(2, request.AlertVersion);
        Assert.Equal(AlertMessageType.Cancel, cancel.MessageType);
        var status = (await officer.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId, Version = 1 })).Alert;
        Assert.Equal(1, status.Counts.Dropped);
        Assert.Equal(AlertState.Cancelled, status.State);
    }

    [Fact]
    public async Task ExpiredAlert_IsNeverSent_NorUpdated()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var officer = _t.Officer("post-bamako");
        var alert = (await officer.IssueAlertAsync(TestAlerts.Request("ML", _t.Clock, TimeSpan.FromHours(1)))).Alert;
        _t.Clock.Advance(TimeSpan.FromHours(2));

        var report = await _t.Service<ConsularJobs>().RunDueAsync(_t.Clock.GetUtcNow());

        Assert.Equal(1, report.AlertsExpired);
        Assert.Empty(await _t.OutboxAsync<NotificationRequested>("notification-requested", unsentOnly: true));
        var update = await Assert.ThrowsAsync<RpcException>(() => officer.UpdateAlertAsync(new UpdateAlertRequest
        {
            AlertId = alert.AlertId,
            Headline = alert.Headline,
            Body = alert.Body,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, update.StatusCode);
    }

    [Fact]
    public async Task LateLevelChange_PastItsAlertLifetime_SendsNothing()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        _t.Clock.Advance(TimeSpan.FromDays(4));
        var e = ConsularTestHost.LevelChange("ML", ThreatLevel.Increased, ThreatLevel.DoNotTravel);

        await _t.Service<Consular.Events.ThreatLevelChangedConsumer>().HandleAsync(e, ConsularTestHost.Incoming(e.EventId, "threat-level-changed"), default);

        Assert.Empty(await _t.OutboxAsync<NotificationRequested>("notification-requested"));
    }

    [Fact]
    public async Task IssueAlert_Rejects_BadInput_AndOtherPosts()
    {
        var bad = TestAlerts.Request("ML", _t.Clock);
        bad.Headline = new LocalizedText();
        bad.ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_t.Clock.GetUtcNow().AddHours(-1));

        var invalid = await Assert.ThrowsAsync<RpcException>(() => _t.Officer("post-bamako").IssueAlertAsync(bad).ResponseAsync);
        var foreign = await Assert.ThrowsAsync<RpcException>(() => _t.Officer("post-niamey").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock)).ResponseAsync);
        var analyst = await Assert.ThrowsAsync<RpcException>(() => _t.As("analyst").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock)).ResponseAsync);
        var registrant = await Assert.ThrowsAsync<RpcException>(() => _t.As("registrant", "reg-1").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Contains("expires_at", invalid.Status.Detail, StringComparison.Ordinal);
        Assert.All(new[] { foreign, analyst, registrant }, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Equal(0, await _t.CountAsync("SELECT COUNT(*) FROM alerts"));
    }

    [Fact]
    public async Task AlertReads_AreScopedByPost_AndOpenToTheCrisisCell()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var alert = (await _t.Officer("post-bamako").IssueAlertAsync(TestAlerts.Request("ML", _t.Clock))).Alert;
        var niamey = _t.Officer("post-niamey");

        var status = await Assert.ThrowsAsync<RpcException>(() => niamey.GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId }).ResponseAsync);
        var cap = await Assert.ThrowsAsync<RpcException>(() => niamey.ExportAlertCapAsync(new ExportAlertCapRequest { AlertId = alert.AlertId }).ResponseAsync);
        var update = await Assert.ThrowsAsync<RpcException>(() => niamey.UpdateAlertAsync(new UpdateAlertRequest { AlertId = alert.AlertId, Headline = alert.Headline, Body = alert.Body }).ResponseAsync);
        var cancel = await Assert.ThrowsAsync<RpcException>(() => niamey.CancelAlertAsync(new CancelAlertRequest { AlertId = alert.AlertId, Reason = "x" }).ResponseAsync);
        var registrant = await Assert.ThrowsAsync<RpcException>(() => _t.As("registrant", "reg-1").GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId }).ResponseAsync);
        var niameyList = await niamey.ListAlertsAsync(new ListAlertsRequest());
        var cellList = await _t.As("analyst").ListAlertsAsync(new ListAlertsRequest());
        var viewer = await _t.As("crisis-cell-viewer").GetAlertStatusAsync(new GetAlertStatusRequest { AlertId = alert.AlertId });

        Assert.All(new[] { status, cap, update, cancel, registrant }, e => Assert.Equal(StatusCode.PermissionDenied, e.StatusCode));
        Assert.Empty(niameyList.Alerts);
        Assert.Single(cellList.Alerts);
        Assert.Equal(1, viewer.Alert.Counts.Targeted);
    }

    [Fact]
    public async Task CapExport_OfAnUpdate_ValidatesAgainstTheCap12Schema_AndReferencesTheOriginal()
    {
        await _t.RegisterAsync("post-bamako", ConsularTestHost.Resident("ML"));
        var officer = _t.Officer("post-bamako");
        var request = TestAlerts.Request("ML", _t.Clock);
        request.Area.Polygon = new Polygon
        {
            Vertices = { new LatLng { Latitude = 12.5, Longitude = -8.1 }, new LatLng { Latitude = 12.5, Longitude = -7.9 }, new LatLng { Latitude = 12.7, Longitude = -7.9 } },
        };
        request.Area.SubdivisionCodes.Add("ML-BKO");
        var alert = (await officer.IssueAlertAsync(request)).Alert;
        _t.Clock.Advance(TimeSpan.FromMinutes(30));
        var update = (await officer.UpdateAlertAsync(new UpdateAlertRequest
        {
            AlertId = alert.AlertId,
            Headline = new LocalizedText { Fr = "Mise à jour", En = "Update" },
            Body = new LocalizedText { Fr = "Couvre-feu à 20 h.", En = "Curfew at 8 pm." },
        })).Alert;

        var xml = (await officer.ExportAlertCapAsync(new ExportAlertCapRequest { AlertId = alert.AlertId })).CapXml;

        var schemas = new XmlSchemaSet();
        schemas.Add("urn:oasis:names:tc:emergency:cap:1.2", Path.Combine(AppContext.BaseDirectory, "Cap", "CAP-v1.2.xsd"));
        var doc = XDocument.Parse(xml);
        var errors = new List<string>();
        doc.Validate(schemas, (_, e) => errors.Add(e.Message));
        Assert.Empty(errors);
        XNamespace cap = "urn:oasis:names:tc:emergency:cap:1.2";
        Assert.Equal(2, update.Version);
        Assert.Equal("Update", doc.Root!.Element(cap + "msgType")!.Value);
        Assert.Contains($"{alert.AlertId}:v1", doc.Root.Element(cap + "references")!.Value, StringComparison.Ordinal);
        Assert.Equal(2, doc.Root.Elements(cap + "info").Count());
        Assert.Contains(doc.Descendants(cap + "geocode"), g => g.Element(cap + "value")!.Value == "ML-BKO");
        Assert.Equal(2, doc.Descendants(cap + "polygon").Count());
    }

    [Fact]
    public async Task CapSchema_RejectsAnInvalidDocument()
    {
        var schemas = new XmlSchemaSet();
        schemas.Add("urn:oasis:names:tc:emergency:cap:1.2", Path.Combine(AppContext.BaseDirectory, "Cap", "CAP-v1.2.xsd"));
        var doc = XDocument.Parse("""<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>y</sender><sent>2026-12-01T12:00:00Z</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope></alert>""");
        var errors = new List<string>();
        doc.Validate(schemas, (_, e) => errors.Add(e.Message));
        Assert.NotEmpty(errors);
    }
}
