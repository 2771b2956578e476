using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.ThreatLevels.Domain;
using Dcis.Crisis.ThreatLevels.Storage;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Dcis.Crisis.ThreatLevels.Grpc;

/// <summary>Thin adapter: validate the request, call the store or the snapshot, map the response.
/// Bound through <see cref="PreEncodedBinding"/> (read responses copy pre-encoded assessments).</summary>
[BindServiceMethod(typeof(PreEncodedBinding), nameof(PreEncodedBinding.BindService))]
internal sealed class ThreatLevelsGrpcService(
    ThreatLevelStore store,
    CountryCatalog catalog,
    ChangeStreamer streamer) : ThreatLevelsService.ThreatLevelsServiceBase
{
    [Authorize(Policy = CrisisPolicies.ProposeThreatLevels)]
    public override Task<SetAssessmentResponse> SetAssessment(SetAssessmentRequest request, ServerCallContext context) =>
        store.SetAssessmentAsync(context.GetCaller(), request.Assessment, context.CancellationToken);

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<GetAssessmentResponse> GetAssessment(GetAssessmentRequest request, ServerCallContext context)
    {
        new Validator().Required("assessment_id", request.AssessmentId, 100).ThrowIfInvalid();
        var snapshot = await store.SnapshotAsync();
        var entry = snapshot.Find(request.AssessmentId) ?? throw new NotFoundException("assessment", request.AssessmentId);
        return new GetAssessmentResponse { Assessment = entry.Assessment };
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<ListAssessmentsResponse> ListAssessments(ListAssessmentsRequest request, ServerCallContext context)
    {
        var v = new Validator().PageSize("page_size", request.PageSize);
        v.Check(string.IsNullOrEmpty(request.CountryCode) || catalog.IsCountry(request.CountryCode), "country_code", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        v.Check(System.Enum.IsDefined(request.Scope), "scope", "must be a known scope");
        v.Check(System.Enum.IsDefined(request.View), "view", "must be FULL or BASIC");
        v.ThrowIfInvalid();
        var query = new ListQuery(PageToken.Decode(request.PageToken), Validator.EffectivePageSize(request.PageSize), request.CountryCode,
            request.Scope, request.MinLevel, request.View == AssessmentView.Basic);
        var snapshot = await store.SnapshotAsync();
        return snapshot.CachedList(query, BuildList);
    }

    private static ListAssessmentsResponse BuildList(ThreatLevelSnapshot snapshot, ListQuery q)
    {
        var (page, lastId) = snapshot.List(q.AfterId, q.PageSize, e =>
            (string.IsNullOrEmpty(q.CountryCode) || string.Equals(e.CountryCode, q.CountryCode, StringComparison.Ordinal)) &&
            (q.Scope == AssessmentScope.Unspecified || (q.Scope == AssessmentScope.Zones) == e.IsZone) &&
            !e.IsRetired && e.Assessment.Level >= q.MinLevel, q.Basic);
        var response = new ListAssessmentsResponse { NextPageToken = PageToken.Encode(lastId), LatestSequence = snapshot.LatestSequence };
        response.Assessments.AddRange(page);
        return response;
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<GetEffectiveLevelResponse> GetEffectiveLevel(GetEffectiveLevelRequest request, ServerCallContext context)
    {
        var snapshot = await store.SnapshotAsync();
        var now = store.Now;
        switch (request.TargetCase)
        {
            case GetEffectiveLevelRequest.TargetOneofCase.CountryCode:
                Rules.RequireCountry("country_code", request.CountryCode, catalog);
                return snapshot.ForCountry(request.CountryCode, now);
            case GetEffectiveLevelRequest.TargetOneofCase.AssessmentId:
                return snapshot.ForAssessment(request.AssessmentId, now) ?? throw new NotFoundException("assessment", request.AssessmentId);
            case GetEffectiveLevelRequest.TargetOneofCase.SubdivisionCode:
                if (catalog.FindSubdivision(request.SubdivisionCode) is null)
                {
                    throw ValidationFailedException.For("subdivision_code", "must be an ISO 3166-2 subdivision code, e.g. ML-7");
                }

                return snapshot.ForSubdivision(request.SubdivisionCode, catalog, now);
            case GetEffectiveLevelRequest.TargetOneofCase.Point:
                var v = new Validator();
                v.Check(catalog.IsCountry(request.Point.CountryCode), "point.country_code", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
                v.Check(Rules.IsValidPoint(request.Point.Location), "point.location", "is required: latitude within -90..90, longitude within -180..180");
                v.ThrowIfInvalid();
                return snapshot.ForPoint(request.Point.CountryCode, request.Point.Location, now);
            default:
                throw ValidationFailedException.For("target", "one of country_code, assessment_id, subdivision_code or point is required");
        }
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override Task<GetHistoryResponse> GetHistory(GetHistoryRequest request, ServerCallContext context)
    {
        var v = new Validator().PageSize("page_size", request.PageSize);
        var hasAssessment = !string.IsNullOrEmpty(request.AssessmentId);
        var hasCountry = !string.IsNullOrEmpty(request.CountryCode);
        v.Check(hasAssessment != hasCountry, "assessment_id", "exactly one of assessment_id or country_code is required");
        v.Check(!hasCountry || catalog.IsCountry(request.CountryCode), "country_code", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        v.MaxLength("assessment_id", request.AssessmentId, 100);
        v.ThrowIfInvalid();
        return store.GetHistoryAsync(request.AssessmentId, request.CountryCode, Validator.EffectivePageSize(request.PageSize), request.PageToken, context.CancellationToken);
    }

    [Authorize(Policy = ThreatLevelsRegistration.ProposalsPolicy)]
    public override Task<ListProposalsResponse> ListProposals(ListProposalsRequest request, ServerCallContext context)
    {
        var v = new Validator().PageSize("page_size", request.PageSize);
        v.Check(string.IsNullOrEmpty(request.CountryCode) || catalog.IsCountry(request.CountryCode), "country_code", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        v.Check(System.Enum.IsDefined(request.Status), "status", "must be a known status");
        v.ThrowIfInvalid();
        return store.ListProposalsAsync(context.GetCaller(), request.Status, request.CountryCode,
            Validator.EffectivePageSize(request.PageSize), request.PageToken, context.CancellationToken);
    }

    [Authorize(Policy = CrisisPolicies.Analyst)]
    public override Task<ApproveProposalResponse> ApproveProposal(ApproveProposalRequest request, ServerCallContext context)
    {
        new Validator().Required("proposal_id", request.ProposalId, 100).MaxLength("note", request.Note).ThrowIfInvalid();
        return store.ApproveAsync(context.GetCaller(), request.ProposalId, request.Note, context.CancellationToken);
    }

    [Authorize(Policy = CrisisPolicies.Analyst)]
    public override async Task<RejectProposalResponse> RejectProposal(RejectProposalRequest request, ServerCallContext context)
    {
        new Validator().Required("proposal_id", request.ProposalId, 100).Required("reason", request.Reason).ThrowIfInvalid();
        return new RejectProposalResponse { Proposal = await store.RejectAsync(context.GetCaller(), request.ProposalId, request.Reason, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Analyst)]
    public override Task<DeclareCrisisResponse> DeclareCrisis(DeclareCrisisRequest request, ServerCallContext context) =>
        store.DeclareCrisisAsync(context.GetCaller(), request.Crisis, context.CancellationToken);

    [Authorize(Policy = CrisisPolicies.Analyst)]
    public override async Task<UpdateCrisisResponse> UpdateCrisis(UpdateCrisisRequest request, ServerCallContext context)
    {
        var v = new Validator().Required("crisis_id", request.CrisisId, 100).Required("reason", request.Reason);
        v.Check(request.ExpectedVersion > 0, "expected_version", "is required (the crisis version the update is based on)");
        v.Check(System.Enum.IsDefined(request.Kind), "kind", "must be a known crisis kind");
        if (request.Area is not null)
        {
            Rules.ValidateArea(v, "area", request.Area, catalog);
        }

        if (request.Title is not null)
        {
            Rules.ValidateTitle(v, "title", request.Title);
        }

        Rules.ValidateText(v, "description", request.Description, Limits.MaxTextLength);
        v.ThrowIfInvalid();
        return new UpdateCrisisResponse { Crisis = await store.UpdateCrisisAsync(request, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.Analyst)]
    public override async Task<CloseCrisisResponse> CloseCrisis(CloseCrisisRequest request, ServerCallContext context)
    {
        var v = new Validator().Required("crisis_id", request.CrisisId, 100);
        v.Check(request.ExpectedVersion > 0, "expected_version", "is required (the crisis version the close is based on)");
        Rules.ValidateText(v, "note", request.Note, Limits.MaxTextLength);
        v.ThrowIfInvalid();
        return new CloseCrisisResponse { Crisis = await store.CloseCrisisAsync(context.GetCaller(), request, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<GetCrisisResponse> GetCrisis(GetCrisisRequest request, ServerCallContext context)
    {
        new Validator().Required("crisis_id", request.CrisisId, 100).ThrowIfInvalid();
        return new GetCrisisResponse { Crisis = await store.GetCrisisAsync(request.CrisisId, context.CancellationToken) };
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override Task<ListCrisesResponse> ListCrises(ListCrisesRequest request, ServerCallContext context)
    {
        var v = new Validator().PageSize("page_size", request.PageSize);
        v.Check(string.IsNullOrEmpty(request.CountryCode) || catalog.IsCountry(request.CountryCode), "country_code", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        v.Check(System.Enum.IsDefined(request.Status), "status", "must be a known status");
        v.ThrowIfInvalid();
        return store.ListCrisesAsync(request.Status, request.CountryCode, Validator.EffectivePageSize(request.PageSize), request.PageToken, context.CancellationToken);
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<ListDueForReviewResponse> ListDueForReview(ListDueForReviewRequest request, ServerCallContext context)
    {
        new Validator().PageSize("page_size", request.PageSize).ThrowIfInvalid();
        var offset = (int)Math.Clamp(PageToken.DecodeLong(request.PageToken, 0), 0, int.MaxValue);
        var snapshot = await store.SnapshotAsync();
        var due = snapshot.DueForReview(request.AsOf?.ToDateTimeOffset() ?? store.Now);
        var size = Validator.EffectivePageSize(request.PageSize);
        var response = new ListDueForReviewResponse { TotalDue = due.Count };
        response.Assessments.AddRange(due.Skip(offset).Take(size));
        if (offset + size < due.Count)
        {
            response.NextPageToken = PageToken.Encode(offset + size);
        }

        return response;
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task WatchChanges(WatchChangesRequest request, IServerStreamWriter<WatchChangesResponse> responseStream, ServerCallContext context)
    {
        var v = new Validator();
        v.Check(request.AfterSequence >= 0, "after_sequence", "must be 0 or a sequence received earlier");
        v.Check(request.CountryCodes.Count <= 300, "country_codes", "at most 300 codes");
        for (var i = 0; i < request.CountryCodes.Count; i++)
        {
            v.Check(catalog.IsCountry(request.CountryCodes[i]), $"country_codes[{i}]", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        }

        v.ThrowIfInvalid();
        await streamer.StreamAsync(context.GetCaller(), request, responseStream.WriteAsync, context.CancellationToken);
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override Task<ListCountriesResponse> ListCountries(ListCountriesRequest request, ServerCallContext context)
    {
        var v = new Validator().PageSize("page_size", request.PageSize);
        for (var i = 0; i < request.CountryCodes.Count; i++)
        {
            v.Check(catalog.IsCountry(request.CountryCodes[i]), $"country_codes[{i}]", "must be an ISO 3166-1 alpha-2 code, e.g. ML");
        }

        v.ThrowIfInvalid();
        var after = PageToken.Decode(request.PageToken);
        var wanted = request.CountryCodes.Count > 0 ? request.CountryCodes.ToHashSet(StringComparer.Ordinal) : null;
        var size = Validator.EffectivePageSize(request.PageSize);
        var response = new ListCountriesResponse();
        foreach (var code in catalog.Codes)
        {
            if ((after is not null && string.CompareOrdinal(code, after) <= 0) || (wanted is not null && !wanted.Contains(code)))
            {
                continue;
            }

            if (response.Countries.Count == size)
            {
                response.NextPageToken = PageToken.Encode(response.Countries[^1].Code);
                break;
            }

            response.Countries.Add(request.IncludeSubdivisions ? catalog.Find(code)! : catalog.FindWithoutSubdivisions(code)!);
        }

        return Task.FromResult(response);
    }

    [Authorize(Policy = CrisisPolicies.ReadThreatLevels)]
    public override async Task<GetCountryBriefingResponse> GetCountryBriefing(GetCountryBriefingRequest request, ServerCallContext context)
    {
        Rules.RequireCountry("country_code", request.CountryCode, catalog);
        var snapshot = await store.SnapshotAsync();
        var now = store.Now;
        var response = new GetCountryBriefingResponse
        {
            Country = catalog.Find(request.CountryCode),
            CountryAssessment = snapshot.Find(request.CountryCode)?.InForce(now)?.Assessment,
            AsOf = Timestamp.FromDateTimeOffset(now),
        };
        response.Zones.AddRange(snapshot.ActiveZonesOf(request.CountryCode, now).Select(z => z.Assessment));
        var crises = await store.ListCrisesAsync(V1.CrisisStatus.Active, request.CountryCode, Limits.MaxPageSize, null, context.CancellationToken);
        response.ActiveCrises.AddRange(crises.Crises);
        response.HighestLevel = response.Zones.Select(z => z.Level).Append(response.CountryAssessment?.Level ?? Common.V1.ThreatLevel.Unspecified).Max();
        return response;
    }
}
