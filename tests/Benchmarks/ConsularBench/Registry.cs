using Dcis.Crisis.Consular.Storage;
using Dcis.Crisis.Shared.Storage;

namespace Dcis.Crisis.Consular.Bench;

/// <summary>
/// Seeds the consular schema with a registry: of every 100 people, 7 reside in Mali, 5 travel there
/// now (2 of them also residents), 9 more are "present" until <c>present</c> is reached; the rest
/// live or travel in other countries.
/// </summary>
internal static class Registry
{
    private static readonly string[] Elsewhere = ["SN", "CI", "NE", "BF", "TN", "MA", "TH", "MX", "LB", "KE"];

    public static async Task SeedAsync(string path, int registrants, int present)
    {
        var database = new SqliteDatabase(path);
        await database.MigrateAsync(ConsularDatabase.Schema + Outbox.Schema + Inbox.Schema, default);
        await using var connection = await database.OpenAsync(default);
        await using var tx = connection.BeginTransaction();
        await using var person = connection.Command("""
            INSERT INTO registrants(registrant_id, full_name, home_country, email, mobile, app_inbox, preferred_channel, language, household_size, data, created_at)
            VALUES ($id, 'Bench Person', $home, $email, $mobile, $app, $pref, $lang, 1, '{}', '2026-01-01')
            """, tx, ("$id", ""), ("$home", null), ("$email", ""), ("$mobile", ""), ("$app", 0), ("$pref", 1), ("$lang", 1));
        await using var trip = connection.Command("""
            INSERT INTO trips(trip_id, registrant_id, country_code, from_date, to_date) VALUES ($t, $id, $c, $from, $to)
            """, tx, ("$t", ""), ("$id", ""), ("$c", ""), ("$from", ""), ("$to", ""));
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var from = today.AddDays(-3).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var to = today.AddDays(10).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var presentSlots = Math.Max(1, (int)Math.Round(present * 100.0 / registrants));
        for (var i = 0; i < registrants; i++)
        {
            var slot = i % 100;
            var id = $"reg-{i:D7}";
            var inMali = slot < presentSlots;
            var resident = inMali ? slot < presentSlots * 7 / 10 : slot % 3 != 0;
            var traveller = inMali ? slot >= presentSlots / 2 : slot % 5 == 0;
            person.Parameters["$id"].Value = id;
            person.Parameters["$home"].Value = resident ? (inMali ? "ML" : Elsewhere[i % Elsewhere.Length]) : DBNull.Value;
            person.Parameters["$email"].Value = $"p{i}@example.org";
            person.Parameters["$mobile"].Value = $"+2237{i:D7}";
            person.Parameters["$app"].Value = i % 2;
            person.Parameters["$pref"].Value = 1 + (i % 3);
            person.Parameters["$lang"].Value = 1 + (i % 4 == 0 ? 1 : 0);
            await person.ExecuteNonQueryAsync();
            if (traveller || !resident)
            {
                trip.Parameters["$t"].Value = $"trip-{i:D7}";
                trip.Parameters["$id"].Value = id;
                trip.Parameters["$c"].Value = inMali ? "ML" : Elsewhere[(i + 3) % Elsewhere.Length];
                trip.Parameters["$from"].Value = from;
                trip.Parameters["$to"].Value = to;
                await trip.ExecuteNonQueryAsync();
            }
        }

        await tx.CommitAsync();
    }
}
