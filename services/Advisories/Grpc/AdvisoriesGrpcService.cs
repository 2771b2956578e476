using Dcis.Crisis.Advisories.Briefing;
using Dcis.Crisis.Advisories.Delivery;
using Dcis.Crisis.Advisories.Domain;
using Dcis.Crisis.Advisories.Storage;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Dcis.Crisis.Advisories.Grpc;

/// <summary>Thin adapter: validate, resolve the caller's company, call the stores, map back.</summary>
[Authorize]
internal sealed class AdvisoriesGrpcService(
    CompanyStore companies,
    AdvisoryStore advisories,
    AdvisoryBroadcaster broadcaster,
    BriefingService briefings,
    WebhookSignal webhookSignal,
    AdvisoriesOptions options,
    TimeProvider time) : AdvisoriesService.AdvisoriesServiceBase
{
    /// <summary>Policy of CreateCompany: an analyst onboards any company; a company registers itself.</summary>
    public const string RegisterPolicy = "advisories-register-company";

    [Authorize(Policy = RegisterPolicy)]
    public override async Task<CreateCompanyResponse> CreateCompany(CreateCompanyRequest request, ServerCallContext context)
    {
        var caller = context.GetCaller();
        var company = request.Company?.Clone() ?? new Company();
        if (!caller.IsInRole(Roles.Analyst))
        {
            company.CompanyId = CompanyScope.Resolve(caller, company.CompanyId);
        }

        var v = new Validator();
        Validation.CompanyId(v, "company.company_id", company.CompanyId);
        Validation.Company(v, company);
        v.ThrowIfInvalid();
        return new CreateCompanyResponse { Company = await companies.CreateCompanyAsync(company, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<GetCompanyResponse> GetCompany(GetCompanyRequest request, ServerCallContext context) =>
        new() { Company = await companies.GetCompanyAsync(Scope(context, request.CompanyId), context.CancellationToken) };

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<UpdateCompanyResponse> UpdateCompany(UpdateCompanyRequest request, ServerCallContext context)
    {
        var company = request.Company?.Clone() ?? new Company();
        company.CompanyId = Scope(context, company.CompanyId);
        var v = new Validator();
        Validation.Company(v, company);
        v.ThrowIfInvalid();
        return new UpdateCompanyResponse { Company = await companies.UpdateCompanyAsync(company, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<CreateSiteResponse> CreateSite(CreateSiteRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var v = new Validator();
        Validation.Site(v, request.Site);
        v.ThrowIfInvalid();
        return new CreateSiteResponse { Site = await companies.CreateSiteAsync(companyId, request.Site.Clone(), context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListSitesResponse> ListSites(ListSitesRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (sites, next) = await companies.ListSitesAsync(companyId, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListSitesResponse { Sites = { sites }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<DeleteSiteResponse> DeleteSite(DeleteSiteRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("site_id", request.SiteId);
        await companies.DeleteSiteAsync(companyId, request.SiteId, context.CancellationToken);
        return new DeleteSiteResponse();
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<CreateStaffTripResponse> CreateStaffTrip(CreateStaffTripRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var v = new Validator();
        Validation.Trip(v, request.Trip);
        v.ThrowIfInvalid();
        return new CreateStaffTripResponse { Trip = await companies.CreateTripAsync(companyId, request.Trip.Clone(), context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListStaffTripsResponse> ListStaffTrips(ListStaffTripsRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (trips, next) = await companies.ListTripsAsync(companyId, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListStaffTripsResponse { Trips = { trips }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<DeleteStaffTripResponse> DeleteStaffTrip(DeleteStaffTripRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("trip_id", request.TripId);
        await companies.DeleteTripAsync(companyId, request.TripId, context.CancellationToken);
        return new DeleteStaffTripResponse();
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<CreateSubscriptionResponse> CreateSubscription(CreateSubscriptionRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var v = new Validator();
        Validation.Subscription(v, request.Subscription);
        v.ThrowIfInvalid();
        return new CreateSubscriptionResponse
        {
            Subscription = await companies.CreateSubscriptionAsync(companyId, request.Subscription.Clone(), context.CancellationToken),
        };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListSubscriptionsResponse> ListSubscriptions(ListSubscriptionsRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (list, next) = await companies.ListSubscriptionsAsync(companyId, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListSubscriptionsResponse { Subscriptions = { list }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<DeleteSubscriptionResponse> DeleteSubscription(DeleteSubscriptionRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("subscription_id", request.SubscriptionId);
        await companies.DeleteSubscriptionAsync(companyId, request.SubscriptionId, context.CancellationToken);
        return new DeleteSubscriptionResponse();
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<CreateWebhookEndpointResponse> CreateWebhookEndpoint(CreateWebhookEndpointRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var v = new Validator();
        Validation.WebhookUrl(v, "url", request.Url);
        v.ThrowIfInvalid();
        return new CreateWebhookEndpointResponse { Endpoint = await companies.CreateEndpointAsync(companyId, request.Url, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListWebhookEndpointsResponse> ListWebhookEndpoints(ListWebhookEndpointsRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (list, next) = await companies.ListEndpointsAsync(companyId, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListWebhookEndpointsResponse { Endpoints = { list }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<SetWebhookEndpointActiveResponse> SetWebhookEndpointActive(SetWebhookEndpointActiveRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("endpoint_id", request.EndpointId);
        var endpoint = await companies.SetEndpointActiveAsync(companyId, request.EndpointId, request.Active, context.CancellationToken);
        webhookSignal.Notify(); // a re-activated endpoint resumes with its oldest pending delivery now
        return new SetWebhookEndpointActiveResponse { Endpoint = endpoint };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<RotateWebhookSecretResponse> RotateWebhookSecret(RotateWebhookSecretRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var v = new Validator();
        Validation.Id(v, "endpoint_id", request.EndpointId);
        var overlap = Validation.SecretOverlap(v, request.PreviousSecretOverlap);
        v.ThrowIfInvalid();
        var (endpoint, previousExpiresAt) = await companies.RotateEndpointSecretAsync(companyId, request.EndpointId, overlap, context.CancellationToken);
        return new RotateWebhookSecretResponse
        {
            Endpoint = endpoint,
            PreviousSecretExpiresAt = previousExpiresAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
        };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<TestWebhookEndpointResponse> TestWebhookEndpoint(TestWebhookEndpointRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("endpoint_id", request.EndpointId);
        return new TestWebhookEndpointResponse { Delivery = await advisories.QueueTestAsync(companyId, request.EndpointId, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ReplayAdvisoryResponse> ReplayAdvisory(ReplayAdvisoryRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("advisory_id", request.AdvisoryId);
        var deliveries = await advisories.ReplayAsync(companyId, request.AdvisoryId, request.EndpointId, context.CancellationToken);
        return new ReplayAdvisoryResponse { Deliveries = { deliveries } };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListWebhookDeliveriesResponse> ListWebhookDeliveries(ListWebhookDeliveriesRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (list, next) = await advisories.ListDeliveriesAsync(companyId, request.EndpointId, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListWebhookDeliveriesResponse { Deliveries = { list }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<ListAdvisoriesResponse> ListAdvisories(ListAdvisoriesRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        var (list, next) = await advisories.ListAsync(companyId, request.UnacknowledgedOnly, PageSize(request.PageSize), request.PageToken, context.CancellationToken);
        return new ListAdvisoriesResponse { Advisories = { list }, NextPageToken = next };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<GetAdvisoryResponse> GetAdvisory(GetAdvisoryRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("advisory_id", request.AdvisoryId);
        return new GetAdvisoryResponse { Advisory = await advisories.GetAsync(companyId, request.AdvisoryId, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<AcknowledgeAdvisoryResponse> AcknowledgeAdvisory(AcknowledgeAdvisoryRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("advisory_id", request.AdvisoryId);
        var advisory = await advisories.AcknowledgeAsync(companyId, request.AdvisoryId, context.GetCaller().Subject, context.CancellationToken);
        return new AcknowledgeAdvisoryResponse { Advisory = advisory };
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task WatchAdvisories(WatchAdvisoriesRequest request, IServerStreamWriter<WatchAdvisoriesResponse> responseStream, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        new Validator().Check(request.AfterSequence >= 0, "after_sequence", "must be 0 or more").ThrowIfInvalid();
        var ct = context.CancellationToken;

        // Subscribe before reading the backlog: whatever commits in between is in the mailbox.
        using var subscriber = broadcaster.Subscribe(companyId);

        // Headers now, so a client knows its stream is open before the first advisory or heartbeat.
        await context.WriteResponseHeadersAsync([]);
        var cursor = await SendBacklogAsync(companyId, request.AfterSequence, responseStream, ct);
        while (!ct.IsCancellationRequested)
        {
            bool ready;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                wait.CancelAfter(options.HeartbeatInterval);
                try
                {
                    ready = await subscriber.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await responseStream.WriteAsync(new WatchAdvisoriesResponse
                    {
                        Heartbeat = new Heartbeat { LatestSequence = cursor, At = Timestamp.FromDateTimeOffset(time.GetUtcNow()) },
                    }, ct);
                    continue;
                }
            }

            if (!ready)
            {
                return;
            }

            var mustReadDatabase = subscriber.TakeOverflow();
            while (!mustReadDatabase && subscriber.Reader.TryRead(out var advisory))
            {
                if (advisory.Sequence <= cursor)
                {
                    continue;
                }

                if (advisory.Sequence != cursor + 1)
                {
                    mustReadDatabase = true; // a gap: another wave committed in between; the database has it.
                    break;
                }

                await responseStream.WriteAsync(new WatchAdvisoriesResponse { Advisory = advisory }, ct);
                cursor = advisory.Sequence;
            }

            if (mustReadDatabase)
            {
                cursor = await SendBacklogAsync(companyId, cursor, responseStream, ct);
            }
        }
    }

    [Authorize(Policy = CrisisPolicies.Company)]
    public override async Task<GetAdvisoryCapResponse> GetAdvisoryCap(GetAdvisoryCapRequest request, ServerCallContext context)
    {
        var companyId = Scope(context, request.CompanyId);
        RequireId("advisory_id", request.AdvisoryId);
        var advisory = await advisories.GetAsync(companyId, request.AdvisoryId, context.CancellationToken);
        return new GetAdvisoryCapResponse { CapXml = CapDocument.Build(advisory).ToString() };
    }

    [Authorize(Policy = CrisisPolicies.CrisisCell)]
    public override Task<GetAdvisoryCountsResponse> GetAdvisoryCounts(GetAdvisoryCountsRequest request, ServerCallContext context) =>
        advisories.CountsAsync(request.CauseEventId, context.CancellationToken);

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override Task<GetBriefingResponse> GetBriefing(GetBriefingRequest request, ServerCallContext context)
    {
        var v = new Validator();
        Validation.Country(v, "country_code", request.CountryCode);
        v.MaxLength("city", request.City, 200).MaxLength("subdivision_code", request.SubdivisionCode, 10);
        if (request.Location is { } p)
        {
            v.Check(p.Latitude is >= -90 and <= 90, "location.latitude", "must be between -90 and 90")
                .Check(p.Longitude is >= -180 and <= 180, "location.longitude", "must be between -180 and 180");
        }

        v.ThrowIfInvalid();
        var token = context.GetHttpContext().Request.Headers.Authorization.ToString();
        return briefings.GetAsync(request, token, context.CancellationToken);
    }

    private async Task<long> SendBacklogAsync(string companyId, long after, IServerStreamWriter<WatchAdvisoriesResponse> stream, CancellationToken ct)
    {
        var cursor = after;
        while (true)
        {
            var page = await advisories.ReadAfterAsync(companyId, cursor, 200, ct);
            foreach (var advisory in page)
            {
                await stream.WriteAsync(new WatchAdvisoriesResponse { Advisory = advisory }, ct);
                cursor = advisory.Sequence;
            }

            if (page.Count < 200)
            {
                return cursor;
            }
        }
    }

    private static string Scope(ServerCallContext context, string? requested) => CompanyScope.Resolve(context.GetCaller(), requested);

    private static int PageSize(int requested)
    {
        new Validator().PageSize("page_size", requested).ThrowIfInvalid();
        return Validator.EffectivePageSize(requested);
    }

    private static void RequireId(string field, string value)
    {
        var v = new Validator();
        Validation.Id(v, field, value);
        v.ThrowIfInvalid();
    }
}
