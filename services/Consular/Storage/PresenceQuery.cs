using System.Runtime.CompilerServices;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Shared.Storage;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Consular.Storage;

/// <summary>One person found present (or arriving) in an area, with what targeting needs.</summary>
internal sealed record PresentCandidate(
    string RegistrantId,
    string FullName,
    int HouseholdSize,
    string? Email,
    string? Mobile,
    bool AppInbox,
    Channel Preferred,
    Language Language,
    bool Resident,
    bool TravellerPresent,
    bool ArrivingOnly,
    string Country,
    string? Subdivision);

/// <summary>
/// Presence, streamed: keyset pages over registrant ids (residents of the country UNION travellers
/// with a leg there in the window — each person once), narrowed in code by zones, polygon or circle.
/// Never more than one page in memory.
/// </summary>
internal sealed class PresenceQuery(SqliteDatabase database)
{
    private const string PageSql = """
        SELECT r.registrant_id, r.full_name, r.household_size, r.email, r.mobile, r.app_inbox, r.preferred_channel, r.language,
               r.home_country, r.home_subdivision, r.home_lat, r.home_lng
        FROM (
            SELECT registrant_id FROM registrants WHERE home_country = $c AND registrant_id > $after
            UNION
            SELECT registrant_id FROM trips WHERE country_code = $c AND registrant_id > $after AND to_date >= $d AND from_date <= $until
            ORDER BY 1 LIMIT $n) p
        JOIN registrants r ON r.registrant_id = p.registrant_id
        ORDER BY r.registrant_id
        """;

    private const string TripsSql = """
        SELECT registrant_id, subdivision_code, lat, lng, from_date FROM trips
        WHERE country_code = $c AND registrant_id >= $first AND registrant_id <= $last AND to_date >= $d AND from_date <= $until
        """;

    /// <summary>Streams on its own connection (read-only use: listings and counts).</summary>
    public async IAsyncEnumerable<IReadOnlyList<PresentCandidate>> StreamAsync(PresenceSpec spec, int pageSize, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await foreach (var page in StreamAsync(connection, null, spec, pageSize, ct))
        {
            yield return page;
        }
    }

    /// <summary>Streams inside a caller's transaction (targeting writes as it reads).</summary>
    public static async IAsyncEnumerable<IReadOnlyList<PresentCandidate>> StreamAsync(
        SqliteConnection connection, SqliteTransaction? tx, PresenceSpec spec, int pageSize, [EnumeratorCancellation] CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var d = Iso.Date(spec.Date);
        var until = Iso.Date(spec.ArrivalUntil);
        await using var page = connection.Command(PageSql, tx, ("$c", spec.Country), ("$after", string.Empty), ("$d", d), ("$until", until), ("$n", pageSize));
        await using var trips = connection.Command(TripsSql, tx, ("$c", spec.Country), ("$first", string.Empty), ("$last", string.Empty), ("$d", d), ("$until", until));
        var after = string.Empty;
        while (true)
        {
            page.Parameters["$after"].Value = after;
            var rows = new List<Row>(pageSize);
            await using (var reader = await page.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    rows.Add(new Row(
                        reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                        reader.IsDBNull(3) ? null : reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                        reader.GetInt32(5) != 0, (Channel)reader.GetInt32(6), (Language)reader.GetInt32(7),
                        reader.IsDBNull(8) ? null : reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetString(9),
                        reader.IsDBNull(10) ? null : reader.GetDouble(10), reader.IsDBNull(11) ? null : reader.GetDouble(11)));
                }
            }

            if (rows.Count == 0)
            {
                yield break;
            }

            var legs = new Dictionary<string, List<Leg>>(StringComparer.Ordinal);
            trips.Parameters["$first"].Value = rows[0].Id;
            trips.Parameters["$last"].Value = rows[^1].Id;
            await using (var reader = await trips.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetString(0);
                    if (!legs.TryGetValue(id, out var list))
                    {
                        legs[id] = list = [];
                    }

                    list.Add(new Leg(reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetDouble(2),
                        reader.IsDBNull(3) ? null : reader.GetDouble(3), reader.GetString(4)));
                }
            }

            var result = new List<PresentCandidate>(rows.Count);
            foreach (var row in rows)
            {
                var resident = row.HomeCountry == spec.Country && spec.Matches(row.HomeSubdivision, row.Lat, row.Lng);
                string? subdivision = resident ? row.HomeSubdivision : null;
                bool present = false, arriving = false;
                if (legs.TryGetValue(row.Id, out var list))
                {
                    foreach (var leg in list.Where(l => spec.Matches(l.Subdivision, l.Lat, l.Lng)))
                    {
                        var now = string.CompareOrdinal(leg.From, d) <= 0;
                        present |= now;
                        arriving |= !now;
                        if (!resident && (now || subdivision is null))
                        {
                            subdivision = leg.Subdivision;
                        }
                    }
                }

                if (resident || present || arriving)
                {
                    result.Add(new PresentCandidate(row.Id, row.Name, row.Household, row.Email, row.Mobile, row.AppInbox, row.Preferred,
                        row.Language, resident, present, !resident && !present, spec.Country, subdivision));
                }
            }

            after = rows[^1].Id;
            if (result.Count > 0)
            {
                yield return result;
            }

            if (rows.Count < pageSize)
            {
                yield break;
            }
        }
    }

    private sealed record Row(string Id, string Name, int Household, string? Email, string? Mobile, bool AppInbox, Channel Preferred,
        Language Language, string? HomeCountry, string? HomeSubdivision, double? Lat, double? Lng);

    private sealed record Leg(string? Subdivision, double? Lat, double? Lng, string From);
}
