using System.Globalization;
using System.Text.Json;
using Dcis.Crisis.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Dashboard.Storage;

/// <summary>Reads the read models into the shapes the browser shows.</summary>
internal sealed class ReadModelQueries(SqliteDatabase db, TimeProvider clock)
{
    public async Task<MapView> MapAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var countries = await ListAsync(c, "SELECT country_code, level FROM country_level ORDER BY country_code", r =>
            new CountryLevelDto(r.GetString(0), r.GetInt32(1)), ct);
        var zones = await ListAsync(c, "SELECT assessment_id, country_code, zone_name, subdivisions, polygon, level FROM zone_level WHERE level > 0 ORDER BY country_code", r =>
            new ZoneDto(r.GetString(0), r.GetString(1), Str(r, 2), Json<List<string>>(Str(r, 3)) ?? [], Json<List<double[]>>(Str(r, 4)), r.GetInt32(5)), ct);
        var crises = await CrisesAsync(c, "WHERE status = 'active'", null, ct);
        return new MapView(countries, zones, crises);
    }

    public async Task<CountryView> CountryAsync(string code, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var p = ("$cc", (object?)code);
        var level = (await ListAsync(c, """
            SELECT level, assessment_id, version, categories, summary_fr, summary_en, advice_fr, advice_en, review_by, changed_at
            FROM country_level WHERE country_code = $cc
            """, r => new AssessmentDto(r.GetInt32(0), Str(r, 1), r.GetInt64(2), Json<List<CategoryDto>>(Str(r, 3)) ?? [],
            new TextDto(Str(r, 4), Str(r, 5)), new TextDto(Str(r, 6), Str(r, 7)), Str(r, 8), Str(r, 9)), ct, p)).FirstOrDefault();
        var zones = await ListAsync(c, "SELECT assessment_id, country_code, zone_name, subdivisions, polygon, level FROM zone_level WHERE country_code = $cc AND level > 0", r =>
            new ZoneDto(r.GetString(0), r.GetString(1), Str(r, 2), Json<List<string>>(Str(r, 3)) ?? [], Json<List<double[]>>(Str(r, 4)), r.GetInt32(5)), ct, p);
        var history = await ListAsync(c, """
            SELECT sequence, zone_name, previous_level, new_level, reason, approval_mode, changed_at
            FROM level_history WHERE country_code = $cc ORDER BY sequence DESC LIMIT 20
            """, r => new HistoryDto(r.GetInt64(0), Str(r, 1), r.GetInt32(2), r.GetInt32(3), Str(r, 4), r.GetInt32(5), Str(r, 6)), ct, p);
        var crises = await CrisesAsync(c, "WHERE country_code = $cc", code, ct);
        // Registrants present per post: the latest count a post reported for this country, from its
        // wellbeing checks (people present in the crisis area) or its alerts (people targeted).
        var posts = await ListAsync(c, """
            SELECT post_id, max(n) FROM (
                SELECT post_id, targeted AS n FROM wellbeing WHERE country_code = $cc
                UNION ALL SELECT post_id, targeted AS n FROM alert WHERE kind = 'consular' AND country_code = $cc AND post_id IS NOT NULL)
            GROUP BY post_id ORDER BY post_id
            """, r => new PostCountDto(r.GetString(0), r.GetInt64(1)), ct, p);
        var companies = (await ListAsync(c, """
            SELECT count(*), coalesce(sum(affected_sites), 0), coalesce(sum(affected_travellers), 0), count(acknowledged_at)
            FROM advisory WHERE wave_id = (SELECT source_id FROM alert WHERE kind = 'advisory' AND country_code = $cc ORDER BY issued_at DESC LIMIT 1)
            """, r => new CompanyCountsDto(r.GetInt64(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), ct, p)).First();
        return new CountryView(code, level, zones, history, crises, posts, companies);
    }

    public async Task<IReadOnlyList<AlertDto>> AlertsAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var alerts = await ListAsync(c, """
            SELECT alert_key, kind, source_id, version, message_type, post_id, crisis_id, country_code, level, headline_fr, headline_en, issued_at, targeted
            FROM alert ORDER BY issued_at DESC LIMIT $n
            """, r => (Key: r.GetString(0), Kind: r.GetString(1), Id: r.GetString(2), Version: r.GetInt64(3), Type: r.GetInt32(4),
                Post: Str(r, 5), Crisis: Str(r, 6), Country: r.GetString(7), Level: r.GetInt32(8), Headline: new TextDto(Str(r, 9), Str(r, 10)),
                IssuedAt: r.GetString(11), Targeted: r.GetInt64(12)), ct, ("$n", limit));
        var result = new List<AlertDto>(alerts.Count);
        foreach (var a in alerts)
        {
            var advisory = a.Kind == "advisory";
            var filter = advisory
                ? "(source_alert_id IN (SELECT advisory_id FROM advisory WHERE wave_id = $id) OR source_alert_id = $id)"
                : "source_alert_id = $id AND alert_version = $v";
            var progress = (await ListAsync(c, $"""
                SELECT count(*), coalesce(sum(status_rank IN (2, 4, 5)), 0), coalesce(sum(status_rank >= 4), 0), coalesce(sum(status_rank = 3), 0),
                       coalesce(sum(status_rank = 5), 0), min(delivered_at), max(delivered_at)
                FROM delivery WHERE {filter}
                """, r => (Seen: r.GetInt64(0), Sent: r.GetInt64(1), Delivered: r.GetInt64(2), Failed: r.GetInt64(3), Read: r.GetInt64(4),
                    First: Str(r, 5), Last: Str(r, 6)), ct, ("$id", a.Id), ("$v", a.Version))).First();
            var requested = (await ListAsync(c, advisory
                    ? "SELECT coalesce(sum(recipient_count), 0) FROM notification_batch WHERE action <> 2 AND source_alert_id IN (SELECT advisory_id FROM advisory WHERE wave_id = $id)"
                    : "SELECT coalesce(sum(recipient_count), 0) FROM notification_batch WHERE action <> 2 AND source_alert_id = $id AND alert_version = $v",
                r => r.GetInt64(0), ct, ("$id", a.Id), ("$v", a.Version))).First();
            long targeted = a.Targeted, acknowledged = progress.Read, sites = 0, travellers = 0;
            if (advisory)
            {
                var wave = (await ListAsync(c, """
                    SELECT count(*), count(acknowledged_at), coalesce(sum(affected_sites), 0), coalesce(sum(affected_travellers), 0)
                    FROM advisory WHERE wave_id = $id
                    """, r => (Companies: r.GetInt64(0), Acked: r.GetInt64(1), Sites: r.GetInt64(2), Travellers: r.GetInt64(3)), ct, ("$id", a.Id))).First();
                targeted = Math.Max(wave.Companies, progress.Seen);
                acknowledged = wave.Acked;
                sites = wave.Sites;
                travellers = wave.Travellers;
            }

            result.Add(new AlertDto(a.Key, a.Kind, a.Id, a.Version, a.Type, a.Post, a.Crisis, a.Country, a.Level, a.Headline, a.IssuedAt,
                targeted, requested, progress.Sent, progress.Delivered, progress.Failed, acknowledged,
                Seconds(a.IssuedAt, progress.First), Seconds(a.IssuedAt, progress.Last), sites, travellers));
        }

        return result;
    }

    public async Task<WellbeingView> WellbeingAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var rows = await ListAsync(c, """
            SELECT check_id, post_id, crisis_id, country_code, targeted, safe, need_help, no_answer, follow_up, updated_at
            FROM wellbeing ORDER BY updated_at DESC, check_id, post_id
            """, r => new WellbeingPostDto(r.GetString(0), r.GetString(1), Str(r, 2), Str(r, 3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6),
            r.GetInt64(7), r.GetInt64(8), Str(r, 9)), ct);
        var checks = rows.GroupBy(r => r.CheckId, StringComparer.Ordinal).Select(g => new WellbeingCheckDto(
            g.Key, g.First().CrisisId, g.First().CountryCode, g.Sum(p => p.Targeted), g.Sum(p => p.Safe), g.Sum(p => p.NeedHelp),
            g.Sum(p => p.NoAnswer), g.Sum(p => p.FollowUp), [.. g])).ToList();
        var escalations = await ListAsync(c, "SELECT case_reference, check_id, post_id, at FROM escalation ORDER BY at DESC LIMIT 100",
            r => new EscalationDto(r.GetString(0), r.GetString(1), r.GetString(2), Str(r, 3)), ct);
        return new WellbeingView(checks, escalations);
    }

    public async Task<IReadOnlyList<DeadLetterDto>> DeadLettersAsync(CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        return await ListAsync(c, """
            SELECT id, topic, event_type, event_id, received_at, payload IS NOT NULL, replayed_at FROM dead_letter ORDER BY id DESC LIMIT 100
            """, r => new DeadLetterDto(r.GetInt64(0), r.GetString(1), Str(r, 2), r.GetString(3), r.GetString(4), r.GetBoolean(5), Str(r, 6)), ct);
    }

    /// <summary>Country assessments whose review-by date falls within the next <paramref name="days"/> days (or is past).</summary>
    public async Task<IReadOnlyList<ReviewDueDto>> ReviewsDueAsync(int days, CancellationToken ct)
    {
        await using var c = await db.OpenAsync(ct);
        var horizon = clock.GetUtcNow().AddDays(days);
        var all = await ListAsync(c, "SELECT country_code, level, review_by FROM country_level WHERE review_by IS NOT NULL",
            r => new ReviewDueDto(r.GetString(0), r.GetInt32(1), r.GetString(2)), ct);
        return [.. all.Where(r => DateTimeOffset.Parse(r.ReviewBy, CultureInfo.InvariantCulture) <= horizon).OrderBy(r => r.ReviewBy, StringComparer.Ordinal)];
    }

    private static async Task<IReadOnlyList<CrisisDto>> CrisesAsync(SqliteConnection c, string where, string? country, CancellationToken ct) =>
        await ListAsync(c, $"""
            SELECT crisis_id, status, kind, country_code, zone_name, marker_lat, marker_lng, title_fr, title_en, approval_mode, declared_at, closed_at
            FROM crisis {where} ORDER BY declared_at DESC
            """, r => new CrisisDto(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), Str(r, 4),
            r.IsDBNull(5) ? null : r.GetDouble(5), r.IsDBNull(6) ? null : r.GetDouble(6), new TextDto(Str(r, 7), Str(r, 8)),
            r.GetInt32(9), Str(r, 10), Str(r, 11)), ct, ("$cc", country));

    private static async Task<List<T>> ListAsync<T>(SqliteConnection c, string sql, Func<SqliteDataReader, T> map, CancellationToken ct, params (string, object?)[] args)
    {
        await using var command = c.Command(sql, null, args);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(map(reader));
        }

        return list;
    }

    private static string? Str(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static T? Json<T>(string? json) => json is null ? default : JsonSerializer.Deserialize<T>(json);

    private static double? Seconds(string from, string? to) => to is null
        ? null
        : Math.Max(0, (DateTimeOffset.Parse(to, CultureInfo.InvariantCulture) - DateTimeOffset.Parse(from, CultureInfo.InvariantCulture)).TotalSeconds);
}

internal sealed record TextDto(string? Fr, string? En);

internal sealed record CountryLevelDto(string Code, int Level);

internal sealed record ZoneDto(string AssessmentId, string Country, string? ZoneName, IReadOnlyList<string> Subdivisions, IReadOnlyList<double[]>? Polygon, int Level);

internal sealed record CrisisDto(string CrisisId, string Status, int Kind, string Country, string? ZoneName, double? Lat, double? Lng,
    TextDto Title, int ApprovalMode, string? DeclaredAt, string? ClosedAt);

internal sealed record MapView(IReadOnlyList<CountryLevelDto> Countries, IReadOnlyList<ZoneDto> Zones, IReadOnlyList<CrisisDto> Crises);

internal sealed record AssessmentDto(int Level, string? AssessmentId, long Version, IReadOnlyList<CategoryDto> Categories, TextDto Summary,
    TextDto Advice, string? ReviewBy, string? ChangedAt);

internal sealed record HistoryDto(long Sequence, string? ZoneName, int PreviousLevel, int NewLevel, string? Reason, int ApprovalMode, string? ChangedAt);

internal sealed record PostCountDto(string PostId, long Registrants);

internal sealed record CompanyCountsDto(long Companies, long Sites, long Travellers, long Acknowledged);

internal sealed record CountryView(string Code, AssessmentDto? Assessment, IReadOnlyList<ZoneDto> Zones, IReadOnlyList<HistoryDto> History,
    IReadOnlyList<CrisisDto> Crises, IReadOnlyList<PostCountDto> Posts, CompanyCountsDto Companies);

internal sealed record AlertDto(string Key, string Kind, string SourceId, long Version, int MessageType, string? PostId, string? CrisisId,
    string Country, int Level, TextDto Headline, string IssuedAt, long Targeted, long Requested, long Sent, long Delivered, long Failed,
    long Acknowledged, double? FirstDeliverySeconds, double? LastDeliverySeconds, long AffectedSites, long AffectedTravellers);

internal sealed record WellbeingPostDto(string CheckId, string PostId, string? CrisisId, string? CountryCode, long Targeted, long Safe,
    long NeedHelp, long NoAnswer, long FollowUp, string? UpdatedAt);

internal sealed record WellbeingCheckDto(string CheckId, string? CrisisId, string? CountryCode, long Targeted, long Safe, long NeedHelp,
    long NoAnswer, long FollowUp, IReadOnlyList<WellbeingPostDto> Posts);

internal sealed record EscalationDto(string Reference, string CheckId, string PostId, string? At);

internal sealed record WellbeingView(IReadOnlyList<WellbeingCheckDto> Checks, IReadOnlyList<EscalationDto> Escalations);

internal sealed record DeadLetterDto(long Id, string Topic, string? EventType, string EventId, string ReceivedAt, bool Replayable, string? ReplayedAt);

internal sealed record ReviewDueDto(string Country, int Level, string ReviewBy);
