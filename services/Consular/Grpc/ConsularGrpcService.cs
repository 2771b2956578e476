using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.Storage;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Security;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Dcis.Crisis.Consular.Grpc;

/// <summary>Thin adapter: role policy per RPC, then the stores (which validate and check the object).</summary>
internal sealed class ConsularGrpcService(
    PostDirectory posts,
    RegistryStore registry,
    PresenceQuery presence,
    AlertStore alerts,
    WellbeingStore wellbeing,
    TimeProvider time) : ConsularService.ConsularServiceBase
{
    [Authorize]
    public override Task<ListPostsResponse> ListPosts(ListPostsRequest request, ServerCallContext context)
    {
        var offset = 0;
        new Validator().PageSize("page_size", request.PageSize)
            .Check(string.IsNullOrEmpty(request.CountryCode) || Iso.IsCountry(request.CountryCode), "country_code", "must be a known ISO 3166-1 alpha-2 code")
            .Check(string.IsNullOrEmpty(request.PageToken) || (int.TryParse(request.PageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset) && offset >= 0),
                "page_token", "is not a token from a previous response")
            .ThrowIfInvalid();
        var size = Validator.EffectivePageSize(request.PageSize);
        var matching = posts.All.Where(p => string.IsNullOrEmpty(request.CountryCode) || p.Jurisdictions.Any(j => j.CountryCode == request.CountryCode)).ToList();
        var response = new ListPostsResponse { Posts = { matching.Skip(offset).Take(size) } };
        if (offset + size < matching.Count)
        {
            response.NextPageToken = (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Task.FromResult(response);
    }

    [Authorize]
    public override Task<GetPostResponse> GetPost(GetPostRequest request, ServerCallContext context)
    {
        new Validator().Required("post_id", request.PostId, 100).ThrowIfInvalid();
        return Task.FromResult(new GetPostResponse { Post = posts.Find(request.PostId) ?? throw new NotFoundException("post", request.PostId) });
    }

    [Authorize(Policy = ConsularRegistration.PeoplePolicy)]
    public override async Task<RegisterRegistrantResponse> RegisterRegistrant(RegisterRegistrantRequest request, ServerCallContext context) =>
        new() { Registrant = await registry.RegisterAsync(context.GetCaller(), request.Registrant, context.CancellationToken) };

    [Authorize(Policy = ConsularRegistration.PeoplePolicy)]
    public override async Task<AddTripResponse> AddTrip(AddTripRequest request, ServerCallContext context) =>
        new() { Registrant = await registry.AddTripAsync(context.GetCaller(), request.RegistrantId, request.Leg, context.CancellationToken) };

    [Authorize(Policy = ConsularRegistration.PeoplePolicy)]
    public override async Task<GetRegistrantResponse> GetRegistrant(GetRegistrantRequest request, ServerCallContext context)
    {
        new Validator().Required("registrant_id", request.RegistrantId, 100).ThrowIfInvalid();
        return new() { Registrant = await registry.GetAsync(context.GetCaller(), request.RegistrantId, context.CancellationToken) };
    }

    [Authorize(Policy = ConsularRegistration.PeoplePolicy)]
    public override async Task<EraseRegistrantResponse> EraseRegistrant(EraseRegistrantRequest request, ServerCallContext context) =>
        new() { RowsRemoved = await registry.EraseAsync(context.GetCaller(), request.RegistrantId, request.Reason, context.CancellationToken) };

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task StreamPresence(StreamPresenceRequest request, IServerStreamWriter<StreamPresenceResponse> responseStream, ServerCallContext context)
    {
        var spec = PresenceRequest(context.GetCaller(), request.Area, request.At, request.ArrivingWithinDays, request.PageSize, counts: false);
        var size = Validator.EffectivePageSize(request.PageSize == 0 ? 500 : request.PageSize);
        await foreach (var page in presence.StreamAsync(spec, size, context.CancellationToken))
        {
            var batch = new StreamPresenceResponse();
            batch.People.AddRange(page.Select(p => new PresentPerson
            {
                RegistrantId = p.RegistrantId,
                FullName = p.FullName,
                Presence = RegistrantRules.KindOf(p.Resident, p.TravellerPresent || p.ArrivingOnly),
                PostId = posts.Resolve(p.Country, p.Subdivision),
                Arriving = p.ArrivingOnly,
                HouseholdSize = p.HouseholdSize,
            }));
            await responseStream.WriteAsync(batch, context.CancellationToken);
        }
    }

    [Authorize(Policy = ConsularRegistration.ReadCountsPolicy)]
    public override async Task<CountPresenceResponse> CountPresence(CountPresenceRequest request, ServerCallContext context)
    {
        var spec = PresenceRequest(context.GetCaller(), request.Area, request.At, request.ArrivingWithinDays, 0, counts: true);
        var perPost = new SortedDictionary<string, PostCount>(StringComparer.Ordinal);
        var response = new CountPresenceResponse();
        await foreach (var page in presence.StreamAsync(spec, 1000, context.CancellationToken))
        {
            foreach (var p in page)
            {
                var postId = posts.Resolve(p.Country, p.Subdivision);
                if (!perPost.TryGetValue(postId, out var count))
                {
                    perPost[postId] = count = new PostCount { PostId = postId };
                }

                if (p.ArrivingOnly)
                {
                    count.Arriving++;
                    response.TotalArriving++;
                }
                else
                {
                    count.Present++;
                    response.TotalPresent++;
                }
            }
        }

        response.Posts.AddRange(perPost.Values);
        return response;
    }

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task<IssueAlertResponse> IssueAlert(IssueAlertRequest request, ServerCallContext context) =>
        new() { Alert = await ToProtoAsync(await alerts.IssueAsync(context.GetCaller(), request, context.CancellationToken), context) };

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task<UpdateAlertResponse> UpdateAlert(UpdateAlertRequest request, ServerCallContext context) =>
        new() { Alert = await ToProtoAsync(await alerts.UpdateAsync(context.GetCaller(), request, context.CancellationToken), context) };

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task<CancelAlertResponse> CancelAlert(CancelAlertRequest request, ServerCallContext context) =>
        new() { Alert = await ToProtoAsync(await alerts.CancelAsync(context.GetCaller(), request, context.CancellationToken), context) };

    [Authorize(Policy = ConsularRegistration.ReadCountsPolicy)]
    public override async Task<GetAlertStatusResponse> GetAlertStatus(GetAlertStatusRequest request, ServerCallContext context)
    {
        var (alert, counts) = await alerts.GetStatusAsync(context.GetCaller(), request.AlertId, request.Version, context.CancellationToken);
        var proto = Map(alert);
        proto.Counts = counts;
        return new() { Alert = proto };
    }

    [Authorize(Policy = ConsularRegistration.ReadCountsPolicy)]
    public override async Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context)
    {
        var (list, next) = await alerts.ListAsync(context.GetCaller(), request.PageSize, request.PageToken, context.CancellationToken);
        return new() { Alerts = { list.Select(Map) }, NextPageToken = next };
    }

    [Authorize(Policy = ConsularRegistration.ReadCountsPolicy)]
    public override async Task<ExportAlertCapResponse> ExportAlertCap(ExportAlertCapRequest request, ServerCallContext context) =>
        new() { CapXml = await alerts.ExportCapAsync(context.GetCaller(), request.AlertId, request.Version, context.CancellationToken) };

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task<StartWellbeingCheckResponse> StartWellbeingCheck(StartWellbeingCheckRequest request, ServerCallContext context) =>
        new() { Check = await wellbeing.StartAsync(context.GetCaller(), request, context.CancellationToken) };

    [Authorize]
    public override async Task<AnswerWellbeingCheckResponse> AnswerWellbeingCheck(AnswerWellbeingCheckRequest request, ServerCallContext context) =>
        new() { CaseReference = (await wellbeing.AnswerAsync(context.GetCaller(), request, context.CancellationToken)).CaseReference };

    [Authorize(Policy = ConsularRegistration.ReadCountsPolicy)]
    public override async Task<GetWellbeingStatusResponse> GetWellbeingStatus(GetWellbeingStatusRequest request, ServerCallContext context) =>
        new() { Check = await wellbeing.GetStatusAsync(context.GetCaller(), request.CheckId, context.CancellationToken) };

    [Authorize(Policy = ConsularRegistration.OfficerPolicy)]
    public override async Task<ListFollowUpsResponse> ListFollowUps(ListFollowUpsRequest request, ServerCallContext context)
    {
        var (entries, next) = await wellbeing.ListFollowUpsAsync(context.GetCaller(), request.CheckId, request.PageSize, request.PageToken, context.CancellationToken);
        return new() { Entries = { entries }, NextPageToken = next };
    }

    private PresenceSpec PresenceRequest(Caller caller, Common.V1.Area? area, Timestamp? at, int arrivingWithinDays, int pageSize, bool counts)
    {
        new Validator().Area("area", area).ArrivalWindow("arriving_within_days", arrivingWithinDays).PageSize("page_size", pageSize).ThrowIfInvalid();
        if (counts)
        {
            caller.RequireCountsReaderFor(posts, area!);
        }
        else
        {
            caller.RequireOfficerFor(posts, area!);
        }

        return PresenceSpec.From(area!, at?.ToDateTimeOffset() ?? time.GetUtcNow(), arrivingWithinDays);
    }

    private async Task<Alert> ToProtoAsync(AlertRecord alert, ServerCallContext context)
    {
        var (_, counts) = await alerts.GetStatusAsync(context.GetCaller(), alert.AlertId, alert.Version, context.CancellationToken);
        var proto = Map(alert);
        proto.Counts = counts;
        return proto;
    }

    private static Alert Map(AlertRecord a) => new()
    {
        AlertId = a.AlertId,
        Version = a.Version,
        MessageType = a.MessageType,
        PostId = a.PostId,
        Area = a.Area,
        Level = a.Level,
        Headline = a.Headline,
        Body = a.Body,
        IssuedAt = Timestamp.FromDateTimeOffset(a.IssuedAt),
        ExpiresAt = Timestamp.FromDateTimeOffset(a.ExpiresAt),
        Priority = a.Priority,
        State = a.State,
        CauseEventId = a.CauseEventId ?? string.Empty,
        CrisisId = a.CrisisId ?? string.Empty,
        IssuedBy = a.IssuedBy,
    };
}
