using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Testing;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using StandardWebhooks;

namespace Dcis.Crisis.Advisories.Tests.Delivery;

/// <summary>A host whose dispatcher runs in the background with tiny delays, and a real receiver.</summary>
public sealed class WebhookFixture : IAsyncLifetime
{
    internal AdvisoriesTestHost Host { get; private set; } = null!;

    internal WebhookReceiver Receiver { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        Host = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string> { ["Advisories:WebhookMaxConsecutiveFailures"] = "3" });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Receiver.DisposeAsync();
    }
}

public class WebhookTests(WebhookFixture fixture) : IClassFixture<WebhookFixture>
{
    private readonly AdvisoriesTestHost _host = fixture.Host;
    private readonly WebhookReceiver _receiver = fixture.Receiver;

    private async Task<(AdvisoriesService.AdvisoriesServiceClient Client, WebhookEndpoint Endpoint)> CompanyWithEndpointAsync(string companyId, string country)
    {
        var client = await _host.RegisterAsync(companyId);
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", country);
        var endpoint = (await client.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { Url = _receiver.Url(companyId) })).Endpoint;
        return (client, endpoint);
    }

    [Fact]
    public async Task Advisory_IsPosted_WithAStandardWebhooksSignature_TheLibraryVerifies()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("hook-co", "AF");
        Assert.StartsWith("whsec_", endpoint.Secret, StringComparison.Ordinal);
        await _host.DeliverAsync(TestEvents.LevelChanged("AF", 1, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential));
        var advisory = (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories.Single();

        await Eventually.TrueAsync(() => _receiver.For("hook-co").Count == 1);
        var received = _receiver.For("hook-co").Single();
        new StandardWebhook(endpoint.Secret).Verify(received.Body, received.Headers);   // throws if the signature is wrong
        Assert.Equal(advisory.AdvisoryId, received.AdvisoryId);
        Assert.StartsWith("msg_", received.Headers["webhook-id"].ToString(), StringComparison.Ordinal);
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(
            () => new StandardWebhook("whsec_" + Convert.ToBase64String(new byte[32])).Verify(received.Body, received.Headers));
    }

    [Fact]
    public async Task FailedDelivery_IsRetried_UntilItSucceeds_WithTheSameMessageId()
    {
        var (client, _) = await CompanyWithEndpointAsync("retry-co", "IQ");
        _receiver.Script("retry-co", (500, null), (503, null));
        await _host.DeliverAsync(TestEvents.LevelChanged("IQ", 1, ThreatLevel.AvoidNonEssential));

        await Eventually.TrueAsync(() => _receiver.For("retry-co").Any(r => r.Status == 200));
        var attempts = _receiver.For("retry-co");
        Assert.Equal([500, 503, 200], attempts.Select(a => a.Status));
        Assert.Single(attempts.Select(a => a.Headers["webhook-id"].ToString()).Distinct());
        var delivery = (await client.ListWebhookDeliveriesAsync(new ListWebhookDeliveriesRequest())).Deliveries.Single();
        Assert.Equal(WebhookDeliveryState.Succeeded, delivery.State);
        Assert.Equal(3, delivery.Attempts);
    }

    [Fact]
    public async Task Deliveries_ToOneEndpoint_KeepTheirOrder_WhileTheFirstIsRetried()
    {
        await CompanyWithEndpointAsync("order-co", "SY");
        _receiver.Script("order-co", (500, null), (500, null));
        await _host.DeliverAsync(TestEvents.LevelChanged("SY", 1, ThreatLevel.AvoidNonEssential, assessmentId: "SY-o"));
        await _host.DeliverAsync(TestEvents.LevelChanged("SY", 2, ThreatLevel.DoNotTravel, ThreatLevel.AvoidNonEssential, assessmentId: "SY-o"));

        await Eventually.TrueAsync(() => _receiver.For("order-co").Count(r => r.Status == 200) == 2);
        var all = _receiver.For("order-co");
        var first = all[0].AdvisoryId;
        var lastOfFirst = all.FindLastIndex(r => r.AdvisoryId == first);
        var firstOfSecond = all.FindIndex(r => r.AdvisoryId != first);
        Assert.Equal(200, all[lastOfFirst].Status);
        Assert.True(firstOfSecond > lastOfFirst, "the second advisory overtook the first");
    }

    [Fact]
    public async Task Endpoint_IsDisabled_AfterRepeatedFailures_WithTheReason_AndResumesWhenReactivated()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("broken-co", "LY");
        _receiver.Always["broken-co"] = 500;
        await _host.DeliverAsync(TestEvents.LevelChanged("LY", 1, ThreatLevel.AvoidNonEssential));

        await Eventually.TrueAsync(async () => !(await client.ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest())).Endpoints.Single().Active);
        var disabled = (await client.ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest())).Endpoints.Single();
        Assert.Contains("3 consecutive failures", disabled.DisabledReason, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", disabled.DisabledReason, StringComparison.Ordinal);
        Assert.Empty(disabled.Secret);
        Assert.Equal(3, _receiver.For("broken-co").Count);

        _receiver.Always["broken-co"] = 200;
        await client.SetWebhookEndpointActiveAsync(new SetWebhookEndpointActiveRequest { EndpointId = endpoint.EndpointId, Active = true });
        await Eventually.TrueAsync(() => _receiver.For("broken-co").Any(r => r.Status == 200));
    }

    [Fact]
    public async Task Replay_SendsTheAdvisoryAgain_AsANewMessage()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("replay-co", "VE");
        await _host.DeliverAsync(TestEvents.LevelChanged("VE", 1, ThreatLevel.Increased));
        await Eventually.TrueAsync(() => _receiver.For("replay-co").Count == 1);
        var advisory = (await client.ListAdvisoriesAsync(new ListAdvisoriesRequest())).Advisories.Single();

        var replay = (await client.ReplayAdvisoryAsync(new ReplayAdvisoryRequest { AdvisoryId = advisory.AdvisoryId })).Deliveries.Single();
        Assert.True(replay.Replay);

        await Eventually.TrueAsync(() => _receiver.For("replay-co").Count == 2);
        var both = _receiver.For("replay-co");
        Assert.All(both, r => Assert.Equal(advisory.AdvisoryId, r.AdvisoryId));
        Assert.NotEqual(both[0].Headers["webhook-id"].ToString(), both[1].Headers["webhook-id"].ToString());
        new StandardWebhook(endpoint.Secret).Verify(both[1].Body, both[1].Headers);
    }

    [Fact]
    public async Task RotatedSecret_SignsBesideThePreviousOne_UntilItExpires_AndAZeroOverlapRevokesItAtOnce()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("rotate-co", "UG");
        var first = endpoint.Secret;

        var rotated = await client.RotateWebhookSecretAsync(new RotateWebhookSecretRequest { EndpointId = endpoint.EndpointId });
        var second = rotated.Endpoint.Secret;
        Assert.StartsWith("whsec_", second, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        var overlap = rotated.PreviousSecretExpiresAt.ToDateTimeOffset() - DateTimeOffset.UtcNow;
        Assert.InRange(overlap, TimeSpan.FromHours(23), TimeSpan.FromHours(24));
        Assert.Empty((await client.ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest())).Endpoints.Single().Secret);
        var during = await TestMessageAsync(client, endpoint.EndpointId, "rotate-co", 1);
        Assert.Equal(2, during.Headers["webhook-signature"].ToString().Split(' ').Length);
        Assert.True(VerifiesWith(second, during), "the new secret verifies");
        Assert.True(VerifiesWith(first, during), "a receiver not yet moved to the new secret still verifies");
        new StandardWebhook(second).Verify(during.Body, during.Headers);   // the new secret's signature comes first

        // A short overlap ends: afterwards only the newest secret signs.
        var third = (await client.RotateWebhookSecretAsync(new RotateWebhookSecretRequest
        {
            EndpointId = endpoint.EndpointId, PreviousSecretOverlap = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        })).Endpoint.Secret;
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var after = await TestMessageAsync(client, endpoint.EndpointId, "rotate-co", 2);
        Assert.True(VerifiesWith(third, after));
        Assert.False(VerifiesWith(second, after), "the previous secret still signs after its overlap");

        // Zero overlap (a leaked secret): the previous one stops signing at once.
        var revoking = await client.RotateWebhookSecretAsync(new RotateWebhookSecretRequest
        {
            EndpointId = endpoint.EndpointId, PreviousSecretOverlap = Duration.FromTimeSpan(TimeSpan.Zero),
        });
        Assert.Null(revoking.PreviousSecretExpiresAt);
        var revoked = await TestMessageAsync(client, endpoint.EndpointId, "rotate-co", 3);
        Assert.Single(revoked.Headers["webhook-signature"].ToString().Split(' '));
        Assert.True(VerifiesWith(revoking.Endpoint.Secret, revoked));
        Assert.False(VerifiesWith(third, revoked), "a revoked secret still signs");
    }

    [Fact]
    public async Task SecretRotation_RefusesAnOverlapOutOfRange_NamingTheField_AndChangesNothing()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("rotate-bad-co", "TD");
        foreach (var overlap in new[] { Duration.FromTimeSpan(TimeSpan.FromDays(8)), new Duration { Seconds = -1 }, new Duration { Nanos = 5 } })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => client.RotateWebhookSecretAsync(new RotateWebhookSecretRequest
            {
                EndpointId = endpoint.EndpointId, PreviousSecretOverlap = overlap,
            }).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            Assert.Contains(ex.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations, v => v.Field == "previous_secret_overlap");
        }

        var received = await TestMessageAsync(client, endpoint.EndpointId, "rotate-bad-co", 1);
        new StandardWebhook(endpoint.Secret).Verify(received.Body, received.Headers);
        Assert.Single(received.Headers["webhook-signature"].ToString().Split(' '));
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.RotateWebhookSecretAsync(new RotateWebhookSecretRequest { EndpointId = "wh-none" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>Whether one of the message's signatures verifies with the secret, as the Standard Webhooks spec has a
    /// receiver check them. The StandardWebhooks library (1.1.2) checks only the first of several, so each is given to it alone.</summary>
    private static bool VerifiesWith(string secret, ReceivedWebhook received) =>
        received.Headers["webhook-signature"].ToString().Split(' ').Any(signature =>
        {
            var headers = new HeaderDictionary
            {
                ["webhook-id"] = received.Headers["webhook-id"], ["webhook-timestamp"] = received.Headers["webhook-timestamp"], ["webhook-signature"] = signature,
            };
            try
            {
                new StandardWebhook(secret).Verify(received.Body, headers);
                return true;
            }
            catch (StandardWebhooks.Diagnostics.WebhookVerificationException)
            {
                return false;
            }
        });

    /// <summary>Sends a test message and returns it as the receiver got it (the <paramref name="nth"/> for this company).</summary>
    private async Task<ReceivedWebhook> TestMessageAsync(AdvisoriesService.AdvisoriesServiceClient client, string endpointId, string companyId, int nth)
    {
        await client.TestWebhookEndpointAsync(new TestWebhookEndpointRequest { EndpointId = endpointId });
        await Eventually.TrueAsync(() => _receiver.For(companyId).Count == nth);
        return _receiver.For(companyId)[nth - 1];
    }

    [Fact]
    public async Task TestMessage_ReachesTheEndpoint_Signed()
    {
        var (client, endpoint) = await CompanyWithEndpointAsync("ping-co", "UY");
        await client.TestWebhookEndpointAsync(new TestWebhookEndpointRequest { EndpointId = endpoint.EndpointId });
        await Eventually.TrueAsync(() => _receiver.For("ping-co").Count == 1);
        var received = _receiver.For("ping-co").Single();
        new StandardWebhook(endpoint.Secret).Verify(received.Body, received.Headers);
        Assert.Contains("\"webhook.test\"", received.Body, StringComparison.Ordinal);
    }
}

/// <summary>Timing rules with the dispatcher driven by the test's clock (no background pass).</summary>
public class WebhookTimingTests
{
    [Fact]
    public async Task TooManyRequests_WaitsForRetryAfter_AndDoesNotCountAsAFailure()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string> { ["Advisories:WebhooksInBackground"] = "false" });
        var client = await host.RegisterAsync("throttle-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "PK");
        await client.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { Url = receiver.Url("throttle-co") });
        receiver.Script("throttle-co", (429, "120"));
        await host.DeliverAsync(TestEvents.LevelChanged("PK", 1, ThreatLevel.AvoidNonEssential));
        var dispatcher = host.Services.GetRequiredService<WebhookDispatcher>();
        var t0 = DateTimeOffset.UtcNow;

        Assert.Equal(1, await dispatcher.RunDueAsync(t0, CancellationToken.None));
        Assert.Equal(0, await dispatcher.RunDueAsync(t0.AddSeconds(60), CancellationToken.None));
        Assert.Equal(0, await dispatcher.RunDueAsync(t0.AddSeconds(119), CancellationToken.None));
        Assert.Equal(1, await dispatcher.RunDueAsync(t0.AddSeconds(121), CancellationToken.None));

        Assert.Equal([429, 200], receiver.For("throttle-co").Select(r => r.Status));
        var endpoint = (await client.ListWebhookEndpointsAsync(new ListWebhookEndpointsRequest())).Endpoints.Single();
        Assert.Equal(0, endpoint.ConsecutiveFailures);
        Assert.True(endpoint.Active);
    }

    [Fact]
    public async Task Failures_BackOffExponentially()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var host = await AdvisoriesTestHost.StartAsync(new Dictionary<string, string>
        {
            ["Advisories:WebhooksInBackground"] = "false",
            ["Advisories:WebhookBaseDelay"] = "00:00:10",
            ["Advisories:WebhookMaxDelay"] = "00:10:00",
        });
        var client = await host.RegisterAsync("backoff-co");
        await AdvisoriesTestHost.AddSiteAsync(client, "Office", "BD");
        await client.CreateWebhookEndpointAsync(new CreateWebhookEndpointRequest { Url = receiver.Url("backoff-co") });
        receiver.Always["backoff-co"] = 500;
        await host.DeliverAsync(TestEvents.LevelChanged("BD", 1, ThreatLevel.AvoidNonEssential));
        var dispatcher = host.Services.GetRequiredService<WebhookDispatcher>();
        var t = DateTimeOffset.UtcNow;

        Assert.Equal(1, await dispatcher.RunDueAsync(t, CancellationToken.None));                 // attempt 1, next in 10 s
        Assert.Equal(0, await dispatcher.RunDueAsync(t.AddSeconds(9), CancellationToken.None));
        Assert.Equal(1, await dispatcher.RunDueAsync(t.AddSeconds(11), CancellationToken.None));  // attempt 2, next in 20 s
        Assert.Equal(0, await dispatcher.RunDueAsync(t.AddSeconds(30), CancellationToken.None));
        Assert.Equal(1, await dispatcher.RunDueAsync(t.AddSeconds(32), CancellationToken.None));  // attempt 3, next in 40 s
        Assert.Equal(0, await dispatcher.RunDueAsync(t.AddSeconds(71), CancellationToken.None));
        Assert.Equal(1, await dispatcher.RunDueAsync(t.AddSeconds(73), CancellationToken.None));

        var delivery = (await client.ListWebhookDeliveriesAsync(new ListWebhookDeliveriesRequest())).Deliveries.Single();
        Assert.Equal(4, delivery.Attempts);
        Assert.Equal("HTTP 500", delivery.LastError);
    }
}
