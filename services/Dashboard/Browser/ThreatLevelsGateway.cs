using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Dashboard.Storage;
using Dcis.Crisis.ThreatLevels.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.Dashboard.Browser;

/// <summary>
/// Calls threat-levels' gRPC API on behalf of the signed-in person, with their own bearer token: the
/// dashboard holds no service credential, and threat-levels applies its own authorization again
/// (a viewer's token is refused there too).
/// </summary>
internal sealed class ThreatLevelsGateway(GrpcChannel channel, ReadModelStore store)
{
    private readonly ThreatLevelsService.ThreatLevelsServiceClient _client = new(channel);

    /// <summary>Loads the current assessments and active crises into the read models (idempotent:
    /// sequence and version guards keep whatever is newer). Returns the number of assessments read.</summary>
    public async Task<int> LoadInitialStateAsync(string token, CancellationToken ct)
    {
        var count = 0;
        var page = string.Empty;
        do
        {
            var response = await _client.ListAssessmentsAsync(new ListAssessmentsRequest { PageSize = 500, PageToken = page },
                Headers(token), cancellationToken: ct);
            foreach (var a in response.Assessments)
            {
                await store.SeedAsync(a, ct);
                count++;
            }

            page = response.NextPageToken;
        }
        while (!string.IsNullOrEmpty(page));

        page = string.Empty;
        do
        {
            var crises = await _client.ListCrisesAsync(new ListCrisesRequest { Status = CrisisStatus.Active, PageSize = 500, PageToken = page },
                Headers(token), cancellationToken: ct);
            foreach (var c in crises.Crises)
            {
                await store.SeedAsync(c, ct);
            }

            page = crises.NextPageToken;
        }
        while (!string.IsNullOrEmpty(page));
        return count;
    }

    public async Task<IReadOnlyList<ProposalDto>> PendingProposalsAsync(string token, CancellationToken ct)
    {
        var response = await _client.ListProposalsAsync(new ListProposalsRequest { Status = ProposalStatus.Pending, PageSize = 100 },
            Headers(token), cancellationToken: ct);
        return [.. response.Proposals.Select(p => new ProposalDto(p.ProposalId, p.Kind.ToString(), p.CountryCode,
            p.Assessment is null ? 0 : (int)p.Assessment.Level, p.Assessment?.Reason ?? p.Crisis?.Reason,
            p.Crisis?.Title is { } t ? new TextDto(t.Fr, t.En) : null, p.ProposedAt?.ToDateTimeOffset().ToString("O", System.Globalization.CultureInfo.InvariantCulture)))];
    }

    public async Task<object> SetLevelAsync(string token, SetLevelCommand command, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        var draft = new AssessmentDraft
        {
            AssessmentId = command.AssessmentId ?? string.Empty,
            Area = new Area { CountryCode = command.CountryCode ?? string.Empty },
            Level = (ThreatLevel)command.Level,
            Reason = command.Reason ?? string.Empty,
            ExpectedVersion = command.ExpectedVersion,
            Emergency = command.Emergency,
        };
        var current = string.IsNullOrEmpty(draft.AssessmentId) ? null
            : (await _client.GetAssessmentAsync(new GetAssessmentRequest { AssessmentId = draft.AssessmentId }, Headers(token), cancellationToken: ct)).Assessment;
        if (current is not null)
        {
            // Keep what the analyst did not edit here (categories, texts, review date).
            draft.Area = current.Area;
            draft.Categories.AddRange(current.Categories);
            draft.Summary = current.Summary;
            draft.Advice = current.Advice;
        }

        var response = await _client.SetAssessmentAsync(new SetAssessmentRequest { Assessment = draft }, Headers(token), cancellationToken: ct);
        return new { outcome = response.Outcome.ToString(), version = response.Assessment?.Version, proposalId = response.Proposal?.ProposalId };
    }

    public async Task<object> ApproveAsync(string token, string proposalId, string? note, CancellationToken ct)
    {
        var response = await _client.ApproveProposalAsync(new ApproveProposalRequest { ProposalId = proposalId, Note = note ?? string.Empty },
            Headers(token), cancellationToken: ct);
        return new { status = response.Proposal?.Status.ToString() };
    }

    public async Task<object> RejectAsync(string token, string proposalId, string? reason, CancellationToken ct)
    {
        var response = await _client.RejectProposalAsync(new RejectProposalRequest { ProposalId = proposalId, Reason = reason ?? string.Empty },
            Headers(token), cancellationToken: ct);
        return new { status = response.Proposal?.Status.ToString() };
    }

    public async Task<object> DeclareCrisisAsync(string token, DeclareCrisisCommand command, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        var response = await _client.DeclareCrisisAsync(new DeclareCrisisRequest
        {
            Crisis = new CrisisDraft
            {
                Kind = (CrisisKind)command.Kind,
                Area = new Area { CountryCode = command.CountryCode ?? string.Empty },
                Title = new LocalizedText { Fr = command.TitleFr ?? string.Empty, En = command.TitleEn ?? string.Empty },
                Reason = command.Reason ?? string.Empty,
                Emergency = command.Emergency,
                StartWellbeingCheck = command.StartWellbeingCheck,
            },
        }, Headers(token), cancellationToken: ct);
        return new { outcome = response.Outcome.ToString(), crisisId = response.Crisis?.CrisisId, proposalId = response.Proposal?.ProposalId };
    }

    public async Task<object> CloseCrisisAsync(string token, string crisisId, CancellationToken ct)
    {
        var current = (await _client.GetCrisisAsync(new GetCrisisRequest { CrisisId = crisisId }, Headers(token), cancellationToken: ct)).Crisis;
        var response = await _client.CloseCrisisAsync(new CloseCrisisRequest { CrisisId = crisisId, ExpectedVersion = current.Version },
            Headers(token), cancellationToken: ct);
        return new { status = response.Crisis?.Status.ToString() };
    }

    private static Metadata Headers(string token) => new() { { "Authorization", "Bearer " + token } };
}

internal sealed record ProposalDto(string ProposalId, string Kind, string CountryCode, int Level, string? Reason, TextDto? Title, string? ProposedAt);

internal sealed record SetLevelCommand(string? AssessmentId, string? CountryCode, int Level, string? Reason, long ExpectedVersion, bool Emergency);

internal sealed record DeclareCrisisCommand(string? CountryCode, int Kind, string? TitleFr, string? TitleEn, string? Reason, bool Emergency, bool StartWellbeingCheck);
