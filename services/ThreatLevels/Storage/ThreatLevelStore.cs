using System.Diagnostics.Metrics;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Dcis.Crisis.ThreatLevels.Domain;
using Dcis.Crisis.ThreatLevels.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using CrisisRecord = Dcis.Crisis.ThreatLevels.V1.Crisis;

namespace Dcis.Crisis.ThreatLevels.Storage;

/// <summary>
/// Assessments, history, proposals and crises in SQLite, with the in-memory snapshot that serves reads.
/// Writes are serialised (one writer: SQLite has one anyway) so that version checks, the gap-free
/// global sequence and the snapshot swap happen in commit order. Every applied change writes its
/// history row, the current row and its event (outbox) in one transaction.
/// A change whose effective_time is later than now is accepted, versioned, recorded and published at
/// once (ThreatLevelChanged carries the effective time, so consumers can schedule what they do);
/// effective-level queries return it only from that time (see <see cref="AssessmentEntry"/>), while
/// GetAssessment/ListAssessments show the latest version (the one the next change must be based on).
/// A change at level UNSPECIFIED retires a zone: its places read the country's level from its effective
/// time, and its event's new_level is that country level.
/// </summary>
public sealed class ThreatLevelStore : IDisposable
{
    private static readonly Counter<long> ChangesApplied = CrisisTelemetry.Meter.CreateCounter<long>(
        "crisis.threatlevels.changes", "{change}", "Assessment changes applied, by approval mode");

    private readonly SqliteDatabase _database;
    private readonly CountryCatalog _catalog;
    private readonly Outbox _outbox;
    private readonly ChangeBroadcaster _broadcaster;
    private readonly TimeProvider _time;
    private readonly ILogger<ThreatLevelStore> _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lazy<Task> _ready;
    private ThreatLevelSnapshot _snapshot = ThreatLevelSnapshot.Empty;
    private KeptStatements? _writer;

    public ThreatLevelStore(SqliteDatabase database, CountryCatalog catalog, Outbox outbox, ChangeBroadcaster broadcaster,
        TimeProvider time, ILogger<ThreatLevelStore> logger)
    {
        _database = database;
        _catalog = catalog;
        _outbox = outbox;
        _broadcaster = broadcaster;
        _time = time;
        _logger = logger;
        _ready = new Lazy<Task>(() => LoadAsync(CancellationToken.None));
        CrisisTelemetry.Meter.CreateObservableGauge("crisis.threatlevels.reviews_due",
            () => _ready.IsValueCreated && _ready.Value.IsCompletedSuccessfully ? Volatile.Read(ref _snapshot).DueForReview(_time.GetUtcNow()).Count : 0,
            "{assessment}", "Assessments past their review-by date");
    }

    /// <summary>Migrates and loads the snapshot (idempotent; every operation awaits it).</summary>
    public Task InitializeAsync() => _ready.Value;

    /// <summary>The current snapshot (after initialisation).</summary>
    public async ValueTask<ThreatLevelSnapshot> SnapshotAsync()
    {
        var ready = _ready.Value;
        if (!ready.IsCompletedSuccessfully)
        {
            await ready;
        }

        return Volatile.Read(ref _snapshot);
    }

    public DateTimeOffset Now => _time.GetUtcNow();

    private Timestamp NowTimestamp => Timestamp.FromDateTimeOffset(_time.GetUtcNow());

    // ---------------------------------------------------------------- assessments

    /// <summary>Applies a change, or records it as a proposal when it needs four-eyes or comes from an attaché.</summary>
    public async Task<SetAssessmentResponse> SetAssessmentAsync(Caller caller, AssessmentDraft draft, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var v = new Validator();
        Rules.ValidateDraft(v, draft, _catalog);
        v.ThrowIfInvalid();
        var isAnalyst = caller.IsInRole(Roles.Analyst);
        if (!isAnalyst)
        {
            RequireAttacheCountry(caller, draft.Area.CountryCode);
            if (draft.Emergency)
            {
                throw new AccessDeniedException("only an analyst may apply a change as an emergency");
            }
        }

        await SnapshotAsync();
        return await WriteAsync(async writer =>
        {
            var snapshot = Volatile.Read(ref _snapshot);
            var (id, existing) = ResolveTarget(snapshot, draft, allowNewZoneId: false);
            CheckVersion(existing, draft.ExpectedVersion);
            var connection = writer.Connection;
            await CheckCorrectionAsync(connection, draft, id, ct);
            var previous = existing?.Assessment.Level ?? ThreatLevel.Unspecified;
            var fourEyes = Rules.NeedsFourEyes(previous, draft.Level);
            var stored = draft.Clone();
            stored.AssessmentId = id;
            PrepareRetirement(stored, existing);
            if (!isAnalyst || (fourEyes && !draft.Emergency))
            {
                var proposal = new Proposal
                {
                    ProposalId = "prop-" + Guid.NewGuid().ToString("N"),
                    Kind = ProposalKind.Assessment,
                    Status = ProposalStatus.Pending,
                    Assessment = stored,
                    ProposedBy = caller.Subject,
                    ProposedAt = NowTimestamp,
                    CountryCode = draft.Area.CountryCode,
                };
                await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
                await InsertProposalAsync(tx, proposal, ct);
                await tx.CommitAsync(ct);
                _logger.LogInformation("Proposal {ProposalId} for {AssessmentId} at level {Level}", proposal.ProposalId, id, draft.Level);
                return new SetAssessmentResponse { Outcome = ChangeOutcome.Proposed, Proposal = proposal };
            }

            var mode = fourEyes ? ApprovalMode.Emergency : ApprovalMode.NotRequired;
            var change = await ApplyAsync(writer, snapshot, stored, existing, caller.Subject, mode, approvedBy: null, proposalId: null, afterWrite: null, ct);
            return new SetAssessmentResponse { Outcome = ChangeOutcome.Applied, Assessment = change.Assessment, Change = change };
        }, ct);
    }

    private static (string Id, AssessmentEntry? Existing) ResolveTarget(ThreatLevelSnapshot snapshot, AssessmentDraft draft, bool allowNewZoneId)
    {
        var country = draft.Area.CountryCode;
        var isZone = Rules.IsZone(draft.Area);
        var id = draft.AssessmentId;
        if (string.IsNullOrEmpty(id))
        {
            if (!isZone)
            {
                return (country, snapshot.Find(country));
            }

            if (draft.ExpectedVersion != 0)
            {
                throw ValidationFailedException.For("assessment.assessment_id", "is required to change an existing zone");
            }

            return ($"{country}/zone/{Guid.NewGuid().ToString("N")[..8]}", null);
        }

        var existing = snapshot.Find(id);
        var retiring = draft.Level == ThreatLevel.Unspecified;
        if (string.Equals(id, country, StringComparison.Ordinal))
        {
            if (retiring)
            {
                throw ValidationFailedException.For("assessment.level", "a country assessment cannot be retired (UNSPECIFIED retires a zone)");
            }

            if (isZone)
            {
                throw ValidationFailedException.For("assessment.area", "a country assessment covers the whole country; leave assessment_id empty to create a zone");
            }

            return (id, existing);
        }

        if (!id.StartsWith(country + "/zone/", StringComparison.Ordinal))
        {
            throw ValidationFailedException.For("assessment.area.country_code", $"does not match assessment {id}");
        }

        if (!isZone && !retiring)
        {
            throw ValidationFailedException.For("assessment.area", "a zone needs subdivision_codes, a polygon or a circle");
        }

        if (existing is null && (!allowNewZoneId || retiring))
        {
            throw new NotFoundException("assessment", id);
        }

        return (id, existing);
    }

    /// <summary>
    /// A draft at level UNSPECIFIED retires an existing zone: from its effective time the zone no longer
    /// applies and its places read the country's level. The retired version keeps the zone's area (the
    /// draft may give the country code only) and rates no category; history keeps every earlier version.
    /// </summary>
    private static void PrepareRetirement(AssessmentDraft draft, AssessmentEntry? existing)
    {
        if (draft.Level != ThreatLevel.Unspecified)
        {
            return;
        }

        if (existing is null || !existing.IsZone)
        {
            throw ValidationFailedException.For("assessment.level", "UNSPECIFIED retires an existing zone; give its assessment_id");
        }

        if (existing.IsRetired)
        {
            throw new ConflictException($"zone {existing.Assessment.AssessmentId} is already retired", "ALREADY_RETIRED");
        }

        if (!Rules.IsZone(draft.Area))
        {
            draft.Area = existing.Assessment.Area.Clone();
        }

        draft.Categories.Clear();
    }

    private static void CheckVersion(AssessmentEntry? existing, long expected)
    {
        var current = existing?.Assessment.Version ?? 0;
        if (expected != current)
        {
            throw new ConflictException($"stale version: the change is based on version {expected}, the assessment is at version {current}", "STALE_VERSION");
        }
    }

    private static async Task CheckCorrectionAsync(SqliteConnection connection, AssessmentDraft draft, string id, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(draft.CorrectsChangeId))
        {
            return;
        }

        await using var command = connection.Command("SELECT assessment_id FROM changes WHERE change_id = $id", null, ("$id", draft.CorrectsChangeId));
        var found = await command.ExecuteScalarAsync(ct) as string;
        if (!string.Equals(found, id, StringComparison.Ordinal))
        {
            throw ValidationFailedException.For("assessment.corrects_change_id", "must be the id of an earlier change of the same assessment");
        }
    }

    private async Task<AssessmentChange> ApplyAsync(KeptStatements writer, ThreatLevelSnapshot snapshot, AssessmentDraft draft,
        AssessmentEntry? existing, string author, ApprovalMode mode, string? approvedBy, string? proposalId,
        Func<SqliteTransaction, AssessmentChange, Task>? afterWrite, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var effective = draft.EffectiveTime?.ToDateTimeOffset() ?? now;
        var previous = existing?.Assessment;
        var sequence = snapshot.LatestSequence + 1;
        var changeId = "chg-" + Guid.NewGuid().ToString("N");
        var assessment = new Assessment
        {
            AssessmentId = draft.AssessmentId,
            Area = draft.Area.Clone(),
            Level = draft.Level,
            Summary = draft.Summary?.Clone() ?? new LocalizedText(),
            Advice = draft.Advice?.Clone() ?? new LocalizedText(),
            EffectiveTime = Timestamp.FromDateTimeOffset(effective),
            ReviewBy = draft.ReviewBy?.Clone() ?? Timestamp.FromDateTimeOffset(Rules.DefaultReviewBy(draft.Level, effective)),
            Reason = draft.Reason,
            Author = author,
            Version = (previous?.Version ?? 0) + 1,
            ApprovalMode = mode,
            ApprovedBy = approvedBy ?? string.Empty,
            ChangeId = changeId,
            Sequence = sequence,
            UpdatedAt = Timestamp.FromDateTimeOffset(now),
        };
        assessment.Categories.AddRange(draft.Categories.OrderBy(c => c.Category).Select(c => c.Clone()));
        var change = new AssessmentChange
        {
            ChangeId = changeId,
            Sequence = sequence,
            AssessmentId = assessment.AssessmentId,
            Version = assessment.Version,
            PreviousLevel = previous?.Level ?? ThreatLevel.Unspecified,
            Assessment = assessment,
            Emergency = mode == ApprovalMode.Emergency,
            ProposalId = proposalId ?? string.Empty,
            CorrectsChangeId = draft.CorrectsChangeId,
        };
        var before = previous?.Categories ?? [];
        change.CategoriesAdded.AddRange(Rules.Added(before, assessment.Categories));
        change.CategoriesRemoved.AddRange(Rules.Added(assessment.Categories, before));
        var next = snapshot.With(AssessmentEntry.Of(assessment, existing), sequence);
        var countryLevel = next.CountryLevel(assessment.Area.CountryCode, effective);

        var evt = new ThreatLevelChanged
        {
            EventId = Guid.NewGuid().ToString(),
            AssessmentId = assessment.AssessmentId,
            Version = assessment.Version,
            Sequence = sequence,
            Area = assessment.Area,
            PreviousLevel = change.PreviousLevel,
            // A retired zone's places read the country's level from the effective time.
            NewLevel = assessment.Level == ThreatLevel.Unspecified ? countryLevel : assessment.Level,
            Summary = assessment.Summary,
            Advice = assessment.Advice,
            EffectiveTime = assessment.EffectiveTime,
            ReviewBy = assessment.ReviewBy,
            Reason = assessment.Reason,
            Author = author,
            ApprovalMode = mode,
            ApprovedBy = assessment.ApprovedBy,
            CorrectsChangeId = change.CorrectsChangeId,
            ChangeId = changeId,
            ChangedAt = assessment.UpdatedAt,
            CountryLevel = countryLevel,
            ZoneRetired = assessment.Level == ThreatLevel.Unspecified,
        };
        evt.Categories.AddRange(assessment.Categories);
        evt.CategoriesAdded.AddRange(change.CategoriesAdded);
        evt.CategoriesRemoved.AddRange(change.CategoriesRemoved);

        // Every change runs these three statements: kept on the writer connection, not parsed again each time.
        await using (var tx = (SqliteTransaction)await writer.Connection.BeginTransactionAsync(ct))
        {
            await writer.Command(
                "INSERT INTO changes(sequence, change_id, assessment_id, country_code, changed_at, data) VALUES ($seq, $id, $a, $c, $at, $data)",
                tx, ("$seq", sequence), ("$id", changeId), ("$a", assessment.AssessmentId), ("$c", assessment.Area.CountryCode),
                ("$at", now.ToString("O")), ("$data", change.ToByteArray())).ExecuteNonQueryAsync(ct);
            await writer.Command(
                "INSERT INTO assessments(assessment_id, country_code, version, data) VALUES ($a, $c, $v, $data) " +
                "ON CONFLICT(assessment_id) DO UPDATE SET version = excluded.version, data = excluded.data",
                tx, ("$a", assessment.AssessmentId), ("$c", assessment.Area.CountryCode), ("$v", assessment.Version), ("$data", assessment.ToByteArray()))
                .ExecuteNonQueryAsync(ct);
            await Outbox.AddRangeAsync(writer, tx, [(Topics.ThreatLevelChanged, evt.EventId, (IMessage)evt)], ct);
            if (afterWrite is not null)
            {
                await afterWrite(tx, change);
            }

            await tx.CommitAsync(ct);
        }

        Volatile.Write(ref _snapshot, next);
        _outbox.NotifyCommitted();
        _broadcaster.Publish();
        ChangesApplied.Add(1, new KeyValuePair<string, object?>("approval_mode", mode.ToString()));
        _logger.LogInformation("Assessment {AssessmentId} v{Version} set to {Level} ({Mode}), sequence {Sequence}",
            assessment.AssessmentId, assessment.Version, assessment.Level, mode, sequence);
        return change;
    }

    /// <summary>A page of history, newest first: one assessment, or a country and all its zones.</summary>
    public async Task<GetHistoryResponse> GetHistoryAsync(string? assessmentId, string? countryCode, int pageSize, string? pageToken, CancellationToken ct)
    {
        var before = PageToken.DecodeLong(pageToken, long.MaxValue);
        var byAssessment = !string.IsNullOrEmpty(assessmentId);
        var snapshot = await SnapshotAsync();
        if (byAssessment && snapshot.Find(assessmentId!) is null)
        {
            throw new NotFoundException("assessment", assessmentId!);
        }

        await using var connection = await _database.OpenAsync(ct);
        await using var command = connection.Command(
            byAssessment
                ? "SELECT sequence, data FROM changes WHERE assessment_id = $k AND sequence < $before ORDER BY sequence DESC LIMIT $n"
                : "SELECT sequence, data FROM changes WHERE country_code = $k AND sequence < $before ORDER BY sequence DESC LIMIT $n",
            null, ("$k", byAssessment ? assessmentId : countryCode), ("$before", before), ("$n", pageSize + 1));
        var response = new GetHistoryResponse();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (response.Changes.Count == pageSize)
            {
                response.NextPageToken = PageToken.Encode(response.Changes[^1].Sequence);
                break;
            }

            response.Changes.Add(AssessmentChange.Parser.ParseFrom((byte[])reader.GetValue(1)));
        }

        return response;
    }

    /// <summary>Changes with a sequence greater than <paramref name="afterSequence"/>, in order (the live stream's catch-up).</summary>
    public async Task<List<AssessmentChange>> ChangesAfterAsync(long afterSequence, int limit, CancellationToken ct)
    {
        await using var connection = await _database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT data FROM changes WHERE sequence > $after ORDER BY sequence LIMIT $n", null, ("$after", afterSequence), ("$n", limit));
        var changes = new List<AssessmentChange>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            changes.Add(AssessmentChange.Parser.ParseFrom((byte[])reader.GetValue(0)));
        }

        return changes;
    }

    // ---------------------------------------------------------------- proposals

    /// <summary>Approves a pending proposal (not one's own) and applies it.</summary>
    public async Task<ApproveProposalResponse> ApproveAsync(Caller caller, string proposalId, string? note, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await SnapshotAsync();
        return await WriteAsync(async writer =>
        {
            var connection = writer.Connection;
            var proposal = await LoadPendingProposalAsync(connection, proposalId, ct);
            if (string.Equals(proposal.ProposedBy, caller.Subject, StringComparison.Ordinal))
            {
                throw new AccessDeniedException("the proposer cannot approve their own proposal (four-eyes)");
            }

            proposal.Status = ProposalStatus.Approved;
            proposal.DecidedBy = caller.Subject;
            proposal.DecidedAt = NowTimestamp;
            proposal.DecisionNote = note ?? string.Empty;
            var response = new ApproveProposalResponse { Proposal = proposal };
            if (proposal.Kind == ProposalKind.Assessment)
            {
                var snapshot = Volatile.Read(ref _snapshot);
                var (_, existing) = ResolveTarget(snapshot, proposal.Assessment, allowNewZoneId: true);
                CheckVersion(existing, proposal.Assessment.ExpectedVersion);
                PrepareRetirement(proposal.Assessment, existing);
                var change = await ApplyAsync(writer, snapshot, proposal.Assessment, existing, proposal.ProposedBy, ApprovalMode.Approved,
                    caller.Subject, proposal.ProposalId, async (tx, applied) =>
                    {
                        proposal.ChangeId = applied.ChangeId;
                        await UpdateProposalAsync(tx, proposal, ct);
                    }, ct);
                response.Change = change;
                response.Assessment = change.Assessment;
            }
            else
            {
                var crisis = await CreateCrisisAsync(connection, proposal.Crisis, proposal.ProposedBy, ApprovalMode.Approved, caller.Subject,
                    async (tx, created) =>
                    {
                        proposal.CrisisId = created.CrisisId;
                        await UpdateProposalAsync(tx, proposal, ct);
                    }, ct);
                response.Crisis = crisis;
            }

            return response;
        }, ct);
    }

    /// <summary>Rejects a pending proposal.</summary>
    public async Task<Proposal> RejectAsync(Caller caller, string proposalId, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return await WriteAsync(async writer =>
        {
            var connection = writer.Connection;
            var proposal = await LoadPendingProposalAsync(connection, proposalId, ct);
            proposal.Status = ProposalStatus.Rejected;
            proposal.DecidedBy = caller.Subject;
            proposal.DecidedAt = NowTimestamp;
            proposal.DecisionNote = reason;
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
            await UpdateProposalAsync(tx, proposal, ct);
            await tx.CommitAsync(ct);
            return proposal;
        }, ct);
    }

    /// <summary>Proposals, newest first; an attaché sees only those of its countries.</summary>
    public async Task<ListProposalsResponse> ListProposalsAsync(Caller caller, ProposalStatus status, string? countryCode, int pageSize, string? pageToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var before = PageToken.DecodeLong(pageToken, long.MaxValue);
        var restrict = !caller.IsInAnyRole(Roles.Analyst, Roles.CrisisCellViewer);
        await using var connection = await _database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT id, data, country_code FROM proposals WHERE id < $before AND ($s = 0 OR status = $s) AND ($c = '' OR country_code = $c) ORDER BY id DESC",
            null, ("$before", before), ("$s", (int)status), ("$c", countryCode ?? string.Empty));
        var response = new ListProposalsResponse();
        long lastId = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (restrict && !caller.Countries.Contains(reader.GetString(2)))
            {
                continue;
            }

            if (response.Proposals.Count == pageSize)
            {
                response.NextPageToken = PageToken.Encode(lastId);
                break;
            }

            lastId = reader.GetInt64(0);
            response.Proposals.Add(Proposal.Parser.ParseFrom((byte[])reader.GetValue(1)));
        }

        return response;
    }

    private static async Task<Proposal> LoadPendingProposalAsync(SqliteConnection connection, string proposalId, CancellationToken ct)
    {
        await using var command = connection.Command("SELECT data FROM proposals WHERE proposal_id = $id", null, ("$id", proposalId));
        var data = await command.ExecuteScalarAsync(ct) as byte[] ?? throw new NotFoundException("proposal", proposalId);
        var proposal = Proposal.Parser.ParseFrom(data);
        if (proposal.Status != ProposalStatus.Pending)
        {
            throw new ConflictException($"proposal {proposalId} is already {proposal.Status}", "ALREADY_DECIDED");
        }

        return proposal;
    }

    private static async Task InsertProposalAsync(SqliteTransaction tx, Proposal proposal, CancellationToken ct)
    {
        await using var command = tx.Connection!.Command(
            "INSERT INTO proposals(proposal_id, status, country_code, data) VALUES ($id, $s, $c, $data)",
            tx, ("$id", proposal.ProposalId), ("$s", (int)proposal.Status), ("$c", proposal.CountryCode), ("$data", proposal.ToByteArray()));
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task UpdateProposalAsync(SqliteTransaction tx, Proposal proposal, CancellationToken ct)
    {
        await using var command = tx.Connection!.Command(
            "UPDATE proposals SET status = $s, data = $data WHERE proposal_id = $id",
            tx, ("$id", proposal.ProposalId), ("$s", (int)proposal.Status), ("$data", proposal.ToByteArray()));
        await command.ExecuteNonQueryAsync(ct);
    }

    private void RequireAttacheCountry(Caller caller, string countryCode)
    {
        if (!caller.IsInRole(Roles.Attache) || !caller.Countries.Contains(countryCode))
        {
            _logger.LogInformation("Attaché proposal refused for {Country}: not in the caller's countries", countryCode);
            throw new AccessDeniedException($"an attaché may only propose changes for the countries of their post; {countryCode} is not one of them");
        }
    }

    // ---------------------------------------------------------------- crises

    /// <summary>Declares a crisis (emergency) or records the declaration as a proposal.</summary>
    public async Task<DeclareCrisisResponse> DeclareCrisisAsync(Caller caller, CrisisDraft draft, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var v = new Validator();
        Rules.ValidateCrisis(v, draft, _catalog);
        v.ThrowIfInvalid();
        await SnapshotAsync();
        return await WriteAsync(async writer =>
        {
            var connection = writer.Connection;
            if (!draft.Emergency)
            {
                var proposal = new Proposal
                {
                    ProposalId = "prop-" + Guid.NewGuid().ToString("N"),
                    Kind = ProposalKind.Crisis,
                    Status = ProposalStatus.Pending,
                    Crisis = draft.Clone(),
                    ProposedBy = caller.Subject,
                    ProposedAt = NowTimestamp,
                    CountryCode = draft.Area.CountryCode,
                };
                await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
                await InsertProposalAsync(tx, proposal, ct);
                await tx.CommitAsync(ct);
                return new DeclareCrisisResponse { Outcome = ChangeOutcome.Proposed, Proposal = proposal };
            }

            var crisis = await CreateCrisisAsync(connection, draft, caller.Subject, ApprovalMode.Emergency, null, null, ct);
            return new DeclareCrisisResponse { Outcome = ChangeOutcome.Applied, Crisis = crisis };
        }, ct);
    }

    private async Task<CrisisRecord> CreateCrisisAsync(SqliteConnection connection, CrisisDraft draft, string declaredBy, ApprovalMode mode,
        string? approvedBy, Func<SqliteTransaction, CrisisRecord, Task>? afterWrite, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var year = now.Year.ToString(System.Globalization.CultureInfo.InvariantCulture);
        long count;
        await using (var counter = connection.Command("SELECT COUNT(*) FROM crises WHERE crisis_id LIKE $p", null, ("$p", $"crisis-{year}-%")))
        {
            count = (long)(await counter.ExecuteScalarAsync(ct))!;
        }

        var snapshot = Volatile.Read(ref _snapshot);
        var crisis = new CrisisRecord
        {
            CrisisId = $"crisis-{year}-{count + 1:D4}",
            Version = 1,
            Kind = draft.Kind,
            Area = draft.Area.Clone(),
            Title = draft.Title.Clone(),
            Description = draft.Description?.Clone() ?? new LocalizedText(),
            StartTime = draft.StartTime?.Clone() ?? Timestamp.FromDateTimeOffset(now),
            Status = CrisisStatus.Active,
            DeclaredBy = declaredBy,
            ApprovalMode = mode,
            ApprovedBy = approvedBy ?? string.Empty,
            DeclaredAt = Timestamp.FromDateTimeOffset(now),
            Reason = draft.Reason,
            StartWellbeingCheck = draft.StartWellbeingCheck,
            CountryLevel = snapshot.CountryLevel(draft.Area.CountryCode, now),
        };
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await using (var insert = connection.Command(
            "INSERT INTO crises(crisis_id, status, country_code, data) VALUES ($id, $s, $c, $data)",
            tx, ("$id", crisis.CrisisId), ("$s", (int)crisis.Status), ("$c", crisis.Area.CountryCode), ("$data", crisis.ToByteArray())))
        {
            await insert.ExecuteNonQueryAsync(ct);
        }

        var evt = DeclaredEvent(crisis);
        await Outbox.AddAsync(tx, Topics.CrisisDeclared, evt.EventId, evt, ct);
        if (afterWrite is not null)
        {
            await afterWrite(tx, crisis);
        }

        await tx.CommitAsync(ct);
        _outbox.NotifyCommitted();
        _logger.LogInformation("Crisis {CrisisId} declared in {Country} ({Mode})", crisis.CrisisId, crisis.Area.CountryCode, mode);
        return crisis;
    }

    private static CrisisDeclared DeclaredEvent(CrisisRecord crisis) => new()
    {
        EventId = Guid.NewGuid().ToString(),
        CrisisId = crisis.CrisisId,
        Version = crisis.Version,
        Kind = crisis.Kind,
        Area = crisis.Area,
        Title = crisis.Title,
        Description = crisis.Description,
        StartTime = crisis.StartTime,
        DeclaredBy = crisis.DeclaredBy,
        ApprovalMode = crisis.ApprovalMode,
        CountryLevel = crisis.CountryLevel,
        DeclaredAt = crisis.DeclaredAt,
        StartWellbeingCheck = crisis.StartWellbeingCheck,
    };

    /// <summary>Updates an active crisis; publishes CrisisDeclared with the new version.</summary>
    public async Task<CrisisRecord> UpdateCrisisAsync(UpdateCrisisRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await WriteAsync(async writer =>
        {
            var connection = writer.Connection;
            var crisis = await LoadCrisisAsync(connection, request.CrisisId, ct);
            CheckCrisis(crisis, request.ExpectedVersion);
            if (request.Area is not null && !string.Equals(request.Area.CountryCode, crisis.Area.CountryCode, StringComparison.Ordinal))
            {
                throw ValidationFailedException.For("area.country_code", "must stay the crisis's country");
            }

            if (request.Kind != CrisisKind.Unspecified)
            {
                crisis.Kind = request.Kind;
            }

            crisis.Area = request.Area?.Clone() ?? crisis.Area;
            crisis.Title = request.Title?.Clone() ?? crisis.Title;
            crisis.Description = request.Description?.Clone() ?? crisis.Description;
            crisis.Reason = request.Reason;
            crisis.Version++;
            var evt = DeclaredEvent(crisis);
            await SaveCrisisAsync(connection, crisis, Topics.CrisisDeclared, evt.EventId, evt, ct);
            return crisis;
        }, ct);
    }

    /// <summary>Closes an active crisis.</summary>
    public async Task<CrisisRecord> CloseCrisisAsync(Caller caller, CloseCrisisRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        return await WriteAsync(async writer =>
        {
            var connection = writer.Connection;
            var crisis = await LoadCrisisAsync(connection, request.CrisisId, ct);
            CheckCrisis(crisis, request.ExpectedVersion);
            crisis.Status = CrisisStatus.Closed;
            crisis.ClosedAt = NowTimestamp;
            crisis.ClosedBy = caller.Subject;
            crisis.CloseNote = request.Note?.Clone() ?? new LocalizedText();
            crisis.Version++;
            var evt = new CrisisClosed
            {
                EventId = Guid.NewGuid().ToString(),
                CrisisId = crisis.CrisisId,
                Version = crisis.Version,
                Area = crisis.Area,
                ClosedAt = crisis.ClosedAt,
                ClosedBy = crisis.ClosedBy,
                Note = crisis.CloseNote,
                Kind = crisis.Kind,
                Title = crisis.Title,
            };
            await SaveCrisisAsync(connection, crisis, Topics.CrisisClosed, evt.EventId, evt, ct);
            _logger.LogInformation("Crisis {CrisisId} closed", crisis.CrisisId);
            return crisis;
        }, ct);
    }

    private static void CheckCrisis(CrisisRecord crisis, long expectedVersion)
    {
        if (crisis.Status != CrisisStatus.Active)
        {
            throw new ConflictException($"crisis {crisis.CrisisId} is closed", "CRISIS_CLOSED");
        }

        if (crisis.Version != expectedVersion)
        {
            throw new ConflictException($"stale version: based on {expectedVersion}, the crisis is at {crisis.Version}", "STALE_VERSION");
        }
    }

    private async Task SaveCrisisAsync(SqliteConnection connection, CrisisRecord crisis, string topic, string eventId, IMessage evt, CancellationToken ct)
    {
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        await using (var update = connection.Command(
            "UPDATE crises SET status = $s, data = $data WHERE crisis_id = $id",
            tx, ("$id", crisis.CrisisId), ("$s", (int)crisis.Status), ("$data", crisis.ToByteArray())))
        {
            await update.ExecuteNonQueryAsync(ct);
        }

        await Outbox.AddAsync(tx, topic, eventId, evt, ct);
        await tx.CommitAsync(ct);
        _outbox.NotifyCommitted();
    }

    private static async Task<CrisisRecord> LoadCrisisAsync(SqliteConnection connection, string crisisId, CancellationToken ct)
    {
        await using var command = connection.Command("SELECT data FROM crises WHERE crisis_id = $id", null, ("$id", crisisId));
        var data = await command.ExecuteScalarAsync(ct) as byte[] ?? throw new NotFoundException("crisis", crisisId);
        return CrisisRecord.Parser.ParseFrom(data);
    }

    /// <summary>One crisis.</summary>
    public async Task<CrisisRecord> GetCrisisAsync(string crisisId, CancellationToken ct)
    {
        await using var connection = await _database.OpenAsync(ct);
        return await LoadCrisisAsync(connection, crisisId, ct);
    }

    /// <summary>Crises, newest first.</summary>
    public async Task<ListCrisesResponse> ListCrisesAsync(CrisisStatus status, string? countryCode, int pageSize, string? pageToken, CancellationToken ct)
    {
        var before = PageToken.DecodeLong(pageToken, long.MaxValue);
        await using var connection = await _database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT id, data FROM crises WHERE id < $before AND ($s = 0 OR status = $s) AND ($c = '' OR country_code = $c) ORDER BY id DESC LIMIT $n",
            null, ("$before", before), ("$s", (int)status), ("$c", countryCode ?? string.Empty), ("$n", pageSize + 1));
        var response = new ListCrisesResponse();
        long lastId = 0;
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            if (response.Crises.Count == pageSize)
            {
                response.NextPageToken = PageToken.Encode(lastId);
                break;
            }

            lastId = reader.GetInt64(0);
            response.Crises.Add(CrisisRecord.Parser.ParseFrom((byte[])reader.GetValue(1)));
        }

        return response;
    }

    // ---------------------------------------------------------------- start-up

    private async Task LoadAsync(CancellationToken ct)
    {
        await _database.MigrateAsync(ThreatLevelsSchema.Ddl, ct);
        await using var connection = await _database.OpenAsync(ct);
        var entries = new List<AssessmentEntry>();
        await using (var command = connection.Command("SELECT data FROM assessments"))
        {
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var assessment = Assessment.Parser.ParseFrom((byte[])reader.GetValue(0));
                entries.Add(assessment.EffectiveTime.ToDateTimeOffset() > assessment.UpdatedAt.ToDateTimeOffset()
                    ? await ReplayAsync(connection, assessment.AssessmentId, ct)
                    : AssessmentEntry.Of(assessment));
            }
        }

        long latest;
        await using (var command = connection.Command("SELECT COALESCE(MAX(sequence), 0) FROM changes"))
        {
            latest = (long)(await command.ExecuteScalarAsync(ct))!;
        }

        Volatile.Write(ref _snapshot, ThreatLevelSnapshot.From(entries, latest));
        _logger.LogInformation("Loaded {Count} assessments, latest sequence {Sequence}", entries.Count, latest);
    }

    /// <summary>A scheduled version's entry with the versions that apply until it takes effect, from history.</summary>
    private static async Task<AssessmentEntry> ReplayAsync(SqliteConnection connection, string assessmentId, CancellationToken ct)
    {
        AssessmentEntry? entry = null;
        await using var command = connection.Command("SELECT data FROM changes WHERE assessment_id = $a ORDER BY sequence", null, ("$a", assessmentId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            entry = AssessmentEntry.Of(AssessmentChange.Parser.ParseFrom((byte[])reader.GetValue(0)).Assessment, entry);
        }

        return entry ?? throw new InvalidOperationException($"assessment {assessmentId} has no history");
    }

    public void Dispose()
    {
        ResetWriter();
        _writeLock.Dispose();
    }

    /// <summary>
    /// Runs one write under the write lock, on the one connection every write uses, with its statements
    /// kept: a pooled connection per write ran the connection pragmas again and parsed each statement
    /// again, on the path of every accepted change. A SqliteException drops that connection (it may be
    /// what failed: I/O error, full disk), so the next write opens a new one.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<KeptStatements, Task<T>> write, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            if (_writer is { IsOpen: false })
            {
                ResetWriter();
            }

            _writer ??= new KeptStatements(await _database.OpenAsync(ct));
            return await write(_writer);
        }
        catch (SqliteException)
        {
            ResetWriter();
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ResetWriter()
    {
        _writer?.Dispose();
        _writer = null;
    }
}
