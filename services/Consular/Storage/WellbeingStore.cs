using System.Security.Cryptography;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Consular.Storage;

/// <summary>
/// Wellbeing checks (roll calls): everyone present is asked "are you safe?" with a personal reply
/// code; "need help" escalates to the post at once; the unanswered get a reminder, then are listed
/// for follow-up. Counts per post are published as WellbeingUpdated.
/// </summary>
internal sealed class WellbeingStore(SqliteDatabase database, PostDirectory posts, TimeProvider time, ConsularSettings settings, Outbox outbox, ILogger<WellbeingStore> logger)
{
    private const string CodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    public async Task<WellbeingCheck> StartAsync(Caller caller, StartWellbeingCheckRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var remind = request.RemindAfterHours == 0 ? settings.DefaultRemindAfter : TimeSpan.FromHours(request.RemindAfterHours);
        var followUp = request.FollowUpAfterHours == 0 ? settings.DefaultFollowUpAfter : TimeSpan.FromHours(request.FollowUpAfterHours);
        new Validator().Area("area", request.Area)
            .Check(request.RemindAfterHours is >= 0 and <= 72, "remind_after_hours", "must be between 1 and 72")
            .Check(request.FollowUpAfterHours is >= 0 and <= 168, "follow_up_after_hours", "must be between 1 and 168")
            .Check(followUp > remind, "follow_up_after_hours", "must be greater than remind_after_hours")
            .ThrowIfInvalid();
        caller.RequireOfficerFor(posts, request.Area);
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var checkId = await StartCoreAsync(connection, tx, null, caller.PostId!, request.Area, remind, followUp, null, null, skipIfNobody: false, ct);
        await tx.CommitAsync(ct);
        outbox.NotifyCommitted();
        return await LoadCheckAsync(connection, checkId!, ct);
    }

    /// <summary>Starts a check for a declared crisis inside the consumer's transaction; null when nobody is present.</summary>
    public Task<string?> StartForCrisisAsync(SqliteConnection connection, SqliteTransaction tx, string crisisId, Area area, string causeEventId, string? traceParent, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(area);
        var postId = posts.Resolve(area.CountryCode, area.SubdivisionCodes.Count == 1 ? area.SubdivisionCodes[0] : null);
        return StartCoreAsync(connection, tx, crisisId, postId, area, settings.DefaultRemindAfter, settings.DefaultFollowUpAfter, causeEventId, traceParent, skipIfNobody: true, ct);
    }

    public static async Task CloseForCrisisAsync(SqliteConnection connection, SqliteTransaction tx, string crisisId, CancellationToken ct) =>
        await AlertStore.ExecAsync(connection, tx, "UPDATE wellbeing_checks SET closed = 1 WHERE crisis_id = $c", ct, ("$c", crisisId));

    public async Task<(string CaseReference, bool Escalated)> AnswerAsync(Caller caller, AnswerWellbeingCheckRequest request, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        var byCode = !string.IsNullOrWhiteSpace(request.ReplyCode);
        new Validator()
            .Check(byCode || !string.IsNullOrWhiteSpace(request.CheckId), "check_id", "is required unless reply_code is given")
            .MaxLength("reply_code", request.ReplyCode, 16).MaxLength("check_id", request.CheckId, 100)
            .Check(request.Answer is WellbeingAnswer.Safe or WellbeingAnswer.NeedHelp, "answer", "must be SAFE or NEED_HELP")
            .MaxLength("text", request.Text)
            .Check(byCode || !caller.IsOfficer() || !string.IsNullOrWhiteSpace(request.RegistrantId), "registrant_id", "is required when an officer records an answer")
            .ThrowIfInvalid();
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        Target target;
        if (byCode)
        {
            // The reply code is a per-person secret sent only to that person: holding it is the authorization.
            target = await FindTargetAsync(connection, tx, "t.reply_code = $x", request.ReplyCode.Trim().ToUpperInvariant(), null, ct)
                ?? throw new NotFoundException("reply code", "(hidden)");
        }
        else
        {
            var registrantId = caller.IsOfficer() ? request.RegistrantId : caller.RegistrantId;
            if (!caller.IsOfficer() && (!caller.IsInRole(Roles.Registrant) || string.IsNullOrEmpty(registrantId)))
            {
                throw new AccessDeniedException("only the person asked, an officer of their post or a reply code can answer");
            }

            target = await FindTargetAsync(connection, tx, "t.check_id = $x AND t.registrant_id = $y", request.CheckId, registrantId, ct)
                ?? throw new NotFoundException("wellbeing check entry", request.CheckId);
            if (caller.IsOfficer() && target.PostId != caller.PostId && !posts.CoversArea(caller.PostId, target.Area))
            {
                throw new AccessDeniedException("the person is outside the jurisdiction of your post");
            }
        }

        if (target.Closed)
        {
            throw new ConflictException("the wellbeing check is closed", "CHECK_CLOSED");
        }

        await AlertStore.ExecAsync(connection, tx, """
            UPDATE wellbeing_targets SET answer = $a, answer_text = $t, answered_at = $at, follow_up = CASE WHEN $a = 2 THEN 1 ELSE 0 END
            WHERE check_id = $c AND registrant_id = $r
            """, ct, ("$a", (int)request.Answer), ("$t", string.IsNullOrWhiteSpace(request.Text) ? null : request.Text), ("$at", Iso.Time(now)),
            ("$c", target.CheckId), ("$r", target.RegistrantId));
        var escalate = request.Answer == WellbeingAnswer.NeedHelp;
        await PublishCountsAsync(connection, tx, target.CheckId, target.CrisisId, target.Area.CountryCode, new HashSet<string>(StringComparer.Ordinal) { target.PostId }, escalate ? target.CaseReference : null, now, ct);
        await tx.CommitAsync(ct);
        outbox.NotifyCommitted();
        if (escalate)
        {
            logger.LogWarning("Wellbeing check {CheckId}: case {CaseReference} needs help, escalated to {PostId}", target.CheckId, target.CaseReference, target.PostId);
        }

        return (target.CaseReference, escalate);
    }

    public async Task<WellbeingCheck> GetStatusAsync(Caller caller, string checkId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        new Validator().Required("check_id", checkId, 100).ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        var check = await LoadCheckAsync(connection, checkId, ct);
        if (!caller.IsCountsReader() && !(caller.IsOfficer() && (check.PostId == caller.PostId || posts.CoversArea(caller.PostId, check.Area))))
        {
            throw new AccessDeniedException("the check is outside the jurisdiction of your post");
        }

        return check;
    }

    public async Task<(IReadOnlyList<FollowUpEntry> Entries, string Next)> ListFollowUpsAsync(Caller caller, string checkId, int pageSize, string pageToken, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var offset = 0;
        new Validator().Required("check_id", checkId, 100).PageSize("page_size", pageSize)
            .Check(string.IsNullOrEmpty(pageToken) || (int.TryParse(pageToken, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset) && offset >= 0),
                "page_token", "is not a token from a previous response")
            .ThrowIfInvalid();
        if (!caller.IsOfficer())
        {
            throw new AccessDeniedException("only officers see the people to follow up");
        }

        var size = Validator.EffectivePageSize(pageSize);
        await using var connection = await database.OpenAsync(ct);
        _ = await LoadCheckAsync(connection, checkId, ct);
        await using var command = connection.Command("""
            SELECT t.registrant_id, r.full_name, r.mobile, t.post_id, t.answer, t.answer_text, t.case_reference
            FROM wellbeing_targets t JOIN registrants r ON r.registrant_id = t.registrant_id
            WHERE t.check_id = $c AND t.post_id = $p AND (t.answer = 2 OR (t.answer = 0 AND t.follow_up = 1))
            ORDER BY t.answer DESC, t.registrant_id LIMIT $n OFFSET $o
            """, null, ("$c", checkId), ("$p", caller.PostId ?? string.Empty), ("$n", size + 1), ("$o", offset));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var entries = new List<FollowUpEntry>();
        while (await reader.ReadAsync(ct))
        {
            entries.Add(new FollowUpEntry
            {
                RegistrantId = reader.GetString(0),
                FullName = reader.GetString(1),
                Mobile = reader.IsDBNull(2) ? string.Empty : reader.GetString(2),
                PostId = reader.GetString(3),
                Answer = (WellbeingAnswer)reader.GetInt32(4),
                AnswerText = reader.IsDBNull(5) ? string.Empty : reader.GetString(5),
                CaseReference = reader.GetString(6),
            });
        }

        var next = entries.Count > size ? (offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty;
        return (entries.Take(size).ToList(), next);
    }

    /// <summary>Sends due reminders and lists due follow-ups. Returns (people reminded, people listed).</summary>
    public async Task<(long Reminded, long FollowUps)> RunDueAsync(DateTimeOffset now, CancellationToken ct)
    {
        long reminded = 0, followUps = 0;
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var checks = new List<(string Id, string? Crisis, Area Area, bool Remind, bool FollowUp)>();
        await using (var due = connection.Command("""
            SELECT check_id, crisis_id, area, reminded = 0 AND remind_at <= $now, followed_up = 0 AND follow_up_at <= $now FROM wellbeing_checks
            WHERE closed = 0 AND ((reminded = 0 AND remind_at <= $now) OR (followed_up = 0 AND follow_up_at <= $now))
            """, tx, ("$now", Iso.Time(now))))
        {
            await using var reader = await due.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                checks.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), ProtoJson.Parse<Area>(reader.GetString(2)),
                    reader.GetInt64(3) != 0, reader.GetInt64(4) != 0));
            }
        }

        foreach (var check in checks)
        {
            if (check.Remind)
            {
                reminded += await SendRemindersAsync(connection, tx, check.Id, check.Area, now, ct);
                await AlertStore.ExecAsync(connection, tx, "UPDATE wellbeing_checks SET reminded = 1 WHERE check_id = $c", ct, ("$c", check.Id));
            }

            if (check.FollowUp)
            {
                await using var list = connection.Command("UPDATE wellbeing_targets SET follow_up = 1 WHERE check_id = $c AND answer = 0", tx, ("$c", check.Id));
                followUps += await list.ExecuteNonQueryAsync(ct);
                await AlertStore.ExecAsync(connection, tx, "UPDATE wellbeing_checks SET followed_up = 1 WHERE check_id = $c", ct, ("$c", check.Id));
            }

            await PublishCountsAsync(connection, tx, check.Id, check.Crisis, check.Area.CountryCode, null, null, now, ct);
        }

        await tx.CommitAsync(ct);
        if (checks.Count > 0)
        {
            outbox.NotifyCommitted();
        }

        return (reminded, followUps);
    }

    private async Task<string?> StartCoreAsync(SqliteConnection connection, SqliteTransaction tx, string? crisisId, string postId, Area area,
        TimeSpan remind, TimeSpan followUp, string? causeEventId, string? traceParent, bool skipIfNobody, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var checkId = RegistrantRules.NewId("check");
        await AlertStore.ExecAsync(connection, tx, """
            INSERT INTO wellbeing_checks(check_id, crisis_id, post_id, area, started_at, remind_at, follow_up_at, cause_event_id)
            VALUES ($id, $crisis, $post, $area, $at, $remind, $follow, $cause)
            """, ct, ("$id", checkId), ("$crisis", crisisId), ("$post", postId), ("$area", Json.Of(area)), ("$at", Iso.Time(now)),
            ("$remind", Iso.Time(now + remind)), ("$follow", Iso.Time(now + followUp)), ("$cause", causeEventId));
        await using var insert = connection.Command("""
            INSERT OR IGNORE INTO wellbeing_targets(check_id, registrant_id, post_id, reply_code, case_reference)
            VALUES ($c, $r, $p, $code, $case)
            """, tx, ("$c", checkId), ("$r", string.Empty), ("$p", string.Empty), ("$code", string.Empty), ("$case", string.Empty));
        var spec = PresenceSpec.From(area, now, 0);
        var batcher = new Batcher(tx, checkId, 1, AlertTexts.Messages(Headline(reminder: false), AlertTexts.WellbeingQuestion(area, false)), traceParent, now, settings.RecipientsPerBatch);
        var postIds = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var page in PresenceQuery.StreamAsync(connection, tx, spec, settings.RecipientsPerBatch, ct))
        {
            foreach (var p in page.Where(p => !p.ArrivingOnly))
            {
                var code = RandomNumberGenerator.GetString(CodeAlphabet, 8);
                var post = posts.Resolve(p.Country, p.Subdivision);
                postIds.Add(post);
                insert.Parameters["$r"].Value = p.RegistrantId;
                insert.Parameters["$p"].Value = post;
                insert.Parameters["$code"].Value = code;
                insert.Parameters["$case"].Value = "case-" + RandomNumberGenerator.GetString(CodeAlphabet, 12);
                await insert.ExecuteNonQueryAsync(ct);
                await batcher.AddAsync(new Recipient
                {
                    RecipientId = p.RegistrantId,
                    Language = p.Language,
                    ReplyCode = code,
                    Addresses = { RegistrantRules.Channels(p.RegistrantId, p.Email, p.Mobile, p.AppInbox, p.Preferred) },
                }, ct);
            }
        }

        var total = await batcher.FinishAsync(connection, ct);
        if (total == 0 && skipIfNobody)
        {
            await AlertStore.ExecAsync(connection, tx, "DELETE FROM wellbeing_checks WHERE check_id = $c", ct, ("$c", checkId));
            return null;
        }

        postIds.Add(postId);
        await PublishCountsAsync(connection, tx, checkId, crisisId, area.CountryCode, postIds, null, now, ct);
        logger.LogInformation("Wellbeing check {CheckId} started for {Count} people", checkId, total);
        return checkId;
    }

    private async Task<long> SendRemindersAsync(SqliteConnection connection, SqliteTransaction tx, string checkId, Area area, DateTimeOffset now, CancellationToken ct)
    {
        var batcher = new Batcher(tx, checkId, 2, AlertTexts.Messages(Headline(reminder: true), AlertTexts.WellbeingQuestion(area, true)), null, now, settings.RecipientsPerBatch);
        var after = string.Empty;
        while (true)
        {
            var page = new List<Recipient>();
            await using (var select = connection.Command("""
                SELECT t.registrant_id, t.reply_code, r.email, r.mobile, r.app_inbox, r.preferred_channel, r.language
                FROM wellbeing_targets t JOIN registrants r ON r.registrant_id = t.registrant_id
                WHERE t.check_id = $c AND t.answer = 0 AND t.reminded = 0 AND t.registrant_id > $after
                ORDER BY t.registrant_id LIMIT $n
                """, tx, ("$c", checkId), ("$after", after), ("$n", settings.RecipientsPerBatch)))
            {
                await using var reader = await select.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetString(0);
                    page.Add(new Recipient
                    {
                        RecipientId = id,
                        ReplyCode = reader.GetString(1),
                        Language = (Language)reader.GetInt32(6),
                        Addresses =
                        {
                            RegistrantRules.Channels(id, reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                                reader.GetInt32(4) != 0, (Channel)reader.GetInt32(5)),
                        },
                    });
                }
            }

            if (page.Count == 0)
            {
                break;
            }

            foreach (var recipient in page)
            {
                await batcher.AddAsync(recipient, ct);
            }

            after = page[^1].RecipientId;
        }

        await AlertStore.ExecAsync(connection, tx, "UPDATE wellbeing_targets SET reminded = 1 WHERE check_id = $c AND answer = 0", ct, ("$c", checkId));
        return await batcher.FinishAsync(connection, ct);
    }

    private static async Task PublishCountsAsync(SqliteConnection connection, SqliteTransaction tx, string checkId, string? crisisId, string country,
        HashSet<string>? onlyPosts, string? escalation, DateTimeOffset now, CancellationToken ct)
    {
        foreach (var c in await CountsAsync(connection, tx, checkId, ct))
        {
            if (onlyPosts is not null && !onlyPosts.Contains(c.PostId))
            {
                continue;
            }

            await using var bump = connection.Command("""
                INSERT INTO wellbeing_versions(check_id, post_id, version) VALUES ($c, $p, 1)
                ON CONFLICT(check_id, post_id) DO UPDATE SET version = version + 1 RETURNING version
                """, tx, ("$c", checkId), ("$p", c.PostId));
            var version = (long)(await bump.ExecuteScalarAsync(ct))!;
            var e = new WellbeingUpdated
            {
                EventId = AlertStore.NewEventId(),
                CheckId = checkId,
                CrisisId = crisisId ?? string.Empty,
                PostId = c.PostId,
                Version = version,
                Targeted = c.Targeted,
                Safe = c.Safe,
                NeedHelp = c.NeedHelp,
                NoAnswer = c.NoAnswer,
                FollowUp = c.FollowUp,
                EscalationReference = escalation ?? string.Empty,
                UpdatedAt = Timestamp.FromDateTimeOffset(now),
                CountryCode = country,
            };
            await Outbox.AddAsync(tx, Topics.WellbeingUpdated, e.EventId, e, ct);
        }
    }

    private static async Task<List<WellbeingCounts>> CountsAsync(SqliteConnection connection, SqliteTransaction? tx, string checkId, CancellationToken ct)
    {
        await using var command = connection.Command("""
            SELECT post_id, COUNT(*), SUM(answer = 1), SUM(answer = 2), SUM(answer = 0), SUM(answer = 0 AND reminded = 1 AND follow_up = 0),
                   SUM(answer = 0 AND follow_up = 1)
            FROM wellbeing_targets WHERE check_id = $c GROUP BY post_id ORDER BY post_id
            """, tx, ("$c", checkId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<WellbeingCounts>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new WellbeingCounts
            {
                PostId = reader.GetString(0),
                Targeted = reader.GetInt64(1),
                Safe = reader.GetInt64(2),
                NeedHelp = reader.GetInt64(3),
                NoAnswer = reader.GetInt64(4),
                Reminded = reader.GetInt64(5),
                FollowUp = reader.GetInt64(6),
            });
        }

        return list;
    }

    private static async Task<WellbeingCheck> LoadCheckAsync(SqliteConnection connection, string checkId, CancellationToken ct)
    {
        await using var command = connection.Command(
            "SELECT check_id, crisis_id, area, started_at, remind_at, follow_up_at, closed, post_id FROM wellbeing_checks WHERE check_id = $c", null, ("$c", checkId));
        WellbeingCheck check;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct))
            {
                throw new NotFoundException("wellbeing check", checkId);
            }

            check = new WellbeingCheck
            {
                CheckId = reader.GetString(0),
                CrisisId = reader.IsDBNull(1) ? string.Empty : reader.GetString(1),
                Area = ProtoJson.Parse<Area>(reader.GetString(2)),
                StartedAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(3))),
                RemindAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(4))),
                FollowUpAt = Timestamp.FromDateTimeOffset(Iso.ParseTime(reader.GetString(5))),
                Closed = reader.GetInt32(6) != 0,
                PostId = reader.GetString(7),
            };
        }

        check.Posts.AddRange(await CountsAsync(connection, null, checkId, ct));
        return check;
    }

    private static async Task<Target?> FindTargetAsync(SqliteConnection connection, SqliteTransaction tx, string where, string x, string? y, CancellationToken ct)
    {
        await using var command = connection.Command($"""
            SELECT t.check_id, t.registrant_id, t.post_id, t.case_reference, c.crisis_id, c.area, c.closed
            FROM wellbeing_targets t JOIN wellbeing_checks c ON c.check_id = t.check_id WHERE {where}
            """, tx, ("$x", x), ("$y", y));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new Target(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                ProtoJson.Parse<Area>(reader.GetString(5)), reader.GetInt32(6) != 0)
            : null;
    }

    private static LocalizedText Headline(bool reminder) => reminder
        ? new LocalizedText { Fr = "Rappel : êtes-vous en sécurité ?", En = "Reminder: are you safe?" }
        : new LocalizedText { Fr = "Êtes-vous en sécurité ?", En = "Are you safe?" };

    private sealed record Target(string CheckId, string RegistrantId, string PostId, string CaseReference, string? CrisisId, Area Area, bool Closed);

    /// <summary>Groups recipients into NotificationRequested events of at most the batch size, written to the outbox.</summary>
    private sealed class Batcher(SqliteTransaction tx, string sourceId, long version, List<LocalizedMessage> messages, string? traceParent, DateTimeOffset now, int size)
    {
        private readonly List<string> _eventIds = [];
        private NotificationRequested? _current;
        private long _total;

        public async Task AddAsync(Recipient recipient, CancellationToken ct)
        {
            _current ??= New();
            _current.Recipients.Add(recipient);
            _total++;
            if (_current.Recipients.Count == size)
            {
                await FlushAsync(ct);
            }
        }

        public async Task<long> FinishAsync(SqliteConnection connection, CancellationToken ct)
        {
            await FlushAsync(ct);
            foreach (var id in _eventIds)
            {
                await AlertStore.ExecAsync(connection, tx, "UPDATE outbox SET data = json_set(data, '$.batchCount', $n) WHERE event_id = $e", ct,
                    ("$n", _eventIds.Count), ("$e", id));
            }

            return _total;
        }

        private async Task FlushAsync(CancellationToken ct)
        {
            if (_current is { Recipients.Count: > 0 })
            {
                await Outbox.AddAsync(tx, Topics.NotificationRequested, _current.EventId, _current, ct);
                _eventIds.Add(_current.EventId);
            }

            _current = null;
        }

        private NotificationRequested New() => new()
        {
            EventId = AlertStore.NewEventId(),
            Source = "consular",
            SourceAlertId = sourceId,
            AlertVersion = version,
            BatchIndex = _eventIds.Count,
            Priority = Priority.Urgent,
            ExpiresAt = Timestamp.FromDateTimeOffset(now.AddHours(24)),
            Messages = { messages },
            Action = NotificationAction.Deliver,
            CauseTraceparent = traceParent ?? string.Empty,
            RequestedAt = Timestamp.FromDateTimeOffset(now),
        };
    }
}
