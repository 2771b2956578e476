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

/// <summary>The registry of residents and travellers: registration, trips, erasure and retention.</summary>
internal sealed class RegistryStore(SqliteDatabase database, PostDirectory posts, TimeProvider time, ConsularSettings settings, ILogger<RegistryStore> logger)
{
    public async Task<Registrant> RegisterAsync(Caller caller, Registrant input, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var now = time.GetUtcNow();
        var r = RegistrantRules.Normalize(input, now);
        if (caller.IsInRole(Roles.Registrant) && !caller.IsOfficer())
        {
            if (string.IsNullOrWhiteSpace(caller.RegistrantId))
            {
                throw new AccessDeniedException("a registrant token must carry a registrant_id");
            }

            r.RegistrantId = caller.RegistrantId;
        }
        else
        {
            r.RegistrantId = RegistrantRules.NewId("reg");
            caller.RequireRegistrantAccess(posts, r.RegistrantId, Places(r));
        }

        r.CreatedAt = Timestamp.FromDateTimeOffset(now);
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        await using (var exists = connection.Command("SELECT 1 FROM registrants WHERE registrant_id = $id", tx, ("$id", r.RegistrantId)))
        {
            if (await exists.ExecuteScalarAsync(ct) is not null)
            {
                throw new AlreadyExistsException("this registrant is already registered");
            }
        }

        await using (var insert = connection.Command("""
            INSERT INTO registrants(registrant_id, full_name, home_country, home_subdivision, home_lat, home_lng, email, mobile,
                app_inbox, preferred_channel, language, household_size, data, created_at)
            VALUES ($id, $name, $hc, $hs, $lat, $lng, $email, $mobile, $app, $pref, $lang, $hh, $data, $at)
            """, tx,
            ("$id", r.RegistrantId), ("$name", r.FullName), ("$hc", r.Home?.CountryCode), ("$hs", Blank(r.Home?.SubdivisionCode)),
            ("$lat", r.Home?.Location?.Latitude), ("$lng", r.Home?.Location?.Longitude), ("$email", Blank(r.Email)), ("$mobile", Blank(r.Mobile)),
            ("$app", r.AppInbox ? 1 : 0), ("$pref", (int)r.PreferredChannel), ("$lang", (int)r.Language), ("$hh", r.HouseholdSize),
            ("$data", Json.Of(r)), ("$at", Iso.Time(now))))
        {
            await insert.ExecuteNonQueryAsync(ct);
        }

        foreach (var leg in r.Trips)
        {
            await InsertTripAsync(connection, tx, r.RegistrantId, leg, ct);
        }

        await tx.CommitAsync(ct);
        logger.LogInformation("Registrant {RegistrantId} registered as {Kind}", r.RegistrantId, r.Kind);
        return r;
    }

    public async Task<Registrant> GetAsync(Caller caller, string registrantId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await using var connection = await database.OpenAsync(ct);
        var r = await LoadAsync(connection, null, registrantId, ct);
        caller.RequireRegistrantAccess(posts, registrantId, Places(r));
        return r;
    }

    public async Task<Registrant> AddTripAsync(Caller caller, string registrantId, TripLeg leg, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var v = new Validator().Required("registrant_id", registrantId, 100).Check(leg is not null, "leg", "is required");
        if (leg is not null)
        {
            RegistrantRules.Trip(v, "leg", leg);
        }

        v.ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var r = await LoadAsync(connection, tx, registrantId, ct);
        var newLeg = leg!.Clone();
        newLeg.TripId = RegistrantRules.NewId("trip");

        // An officer may add a leg in their jurisdiction to someone they can see; the registrant anywhere.
        caller.RequireRegistrantAccess(posts, registrantId, Places(r).Append((newLeg.CountryCode, Blank(newLeg.SubdivisionCode))));
        if (r.Trips.Count >= RegistrantRules.MaxTrips)
        {
            throw ValidationFailedException.For("leg", $"a registrant has at most {RegistrantRules.MaxTrips} legs");
        }

        r.Trips.Add(newLeg);
        r.Kind = RegistrantRules.KindOf(r.Home is not null, true);
        await InsertTripAsync(connection, tx, registrantId, newLeg, ct);
        await SaveDataAsync(connection, tx, r, ct);
        await tx.CommitAsync(ct);
        return r;
    }

    public async Task<long> EraseAsync(Caller caller, string registrantId, string reason, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        new Validator().Required("registrant_id", registrantId, 100).Required("reason", reason).ThrowIfInvalid();
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var r = await LoadAsync(connection, tx, registrantId, ct);
        caller.RequireRegistrantAccess(posts, registrantId, Places(r));
        var rows = await EraseCoreAsync(connection, tx, registrantId, ct);
        await tx.CommitAsync(ct);
        logger.LogInformation("Registrant {RegistrantId} erased ({Rows} rows)", registrantId, rows);
        return rows;
    }

    /// <summary>
    /// Removes every trace of a person: registry rows, trips, alert recipients, wellbeing targets,
    /// and their entry in NotificationRequested rows of the outbox (sent or not: those rows keep
    /// addresses).
    /// </summary>
    public static async Task<long> EraseCoreAsync(SqliteConnection connection, SqliteTransaction tx, string registrantId, CancellationToken ct)
    {
        long rows = 0;
        foreach (var sql in new[]
        {
            "DELETE FROM alert_recipients WHERE registrant_id = $id",
            "DELETE FROM wellbeing_targets WHERE registrant_id = $id",
            "DELETE FROM trips WHERE registrant_id = $id",
            "DELETE FROM registrants WHERE registrant_id = $id",
        })
        {
            await using var command = connection.Command(sql, tx, ("$id", registrantId));
            rows += await command.ExecuteNonQueryAsync(ct);
        }

        var scrub = new List<(long Seq, string Data)>();
        await using (var find = connection.Command(
            "SELECT seq, data FROM outbox WHERE topic = $topic AND instr(data, $needle) > 0", tx,
            ("$topic", Topics.NotificationRequested), ("$needle", $"\"{registrantId}\"")))
        {
            await using var reader = await find.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                scrub.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }

        foreach (var (seq, data) in scrub)
        {
            var message = ProtoJson.Parse<NotificationRequested>(data);
            var kept = message.Recipients.Where(x => x.RecipientId != registrantId).ToList();
            message.Recipients.Clear();
            message.Recipients.AddRange(kept);
            await using var update = connection.Command("UPDATE outbox SET data = $data WHERE seq = $seq", tx,
                ("$data", ProtoJson.Format(message)), ("$seq", seq));
            rows += await update.ExecuteNonQueryAsync(ct);
        }

        return rows;
    }

    /// <summary>
    /// Retention: trip legs that ended more than the retention period ago are deleted; a person
    /// left with no home and no legs is erased. Returns (legs deleted, people erased).
    /// </summary>
    public async Task<(long Legs, long People)> PurgeExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        var cutoff = Iso.Date(Iso.DateOf(now).AddDays(-settings.TravellerRetentionDays));
        await using var connection = await database.OpenAsync(ct);
        await using var tx = connection.BeginTransaction();
        var touched = new List<string>();
        await using (var find = connection.Command("SELECT DISTINCT registrant_id FROM trips WHERE to_date < $cutoff", tx, ("$cutoff", cutoff)))
        {
            await using var reader = await find.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                touched.Add(reader.GetString(0));
            }
        }

        long legs = 0, people = 0;
        foreach (var id in touched)
        {
            var r = await LoadAsync(connection, tx, id, ct);
            var kept = r.Trips.Where(t => string.CompareOrdinal(t.ToDate, cutoff) >= 0).ToList();
            legs += r.Trips.Count - kept.Count;
            if (r.Home is null && kept.Count == 0)
            {
                await EraseCoreAsync(connection, tx, id, ct);
                people++;
                continue;
            }

            await using (var delete = connection.Command("DELETE FROM trips WHERE registrant_id = $id AND to_date < $cutoff", tx, ("$id", id), ("$cutoff", cutoff)))
            {
                await delete.ExecuteNonQueryAsync(ct);
            }

            r.Trips.Clear();
            r.Trips.AddRange(kept);
            r.Kind = RegistrantRules.KindOf(r.Home is not null, kept.Count > 0);
            await SaveDataAsync(connection, tx, r, ct);
        }

        await tx.CommitAsync(ct);
        return (legs, people);
    }

    public static IEnumerable<(string Country, string? Subdivision)> Places(Registrant r)
    {
        ArgumentNullException.ThrowIfNull(r);
        if (r.Home is not null)
        {
            yield return (r.Home.CountryCode, Blank(r.Home.SubdivisionCode));
        }

        foreach (var t in r.Trips)
        {
            yield return (t.CountryCode, Blank(t.SubdivisionCode));
        }
    }

    private static async Task<Registrant> LoadAsync(SqliteConnection connection, SqliteTransaction? tx, string registrantId, CancellationToken ct)
    {
        await using var select = connection.Command("SELECT data FROM registrants WHERE registrant_id = $id", tx, ("$id", registrantId ?? string.Empty));
        return await select.ExecuteScalarAsync(ct) is string data
            ? ProtoJson.Parse<Registrant>(data)
            : throw new NotFoundException("registrant", registrantId ?? string.Empty);
    }

    private static async Task SaveDataAsync(SqliteConnection connection, SqliteTransaction tx, Registrant r, CancellationToken ct)
    {
        await using var update = connection.Command("UPDATE registrants SET data = $data WHERE registrant_id = $id", tx, ("$data", Json.Of(r)), ("$id", r.RegistrantId));
        await update.ExecuteNonQueryAsync(ct);
    }

    private static async Task InsertTripAsync(SqliteConnection connection, SqliteTransaction tx, string registrantId, TripLeg leg, CancellationToken ct)
    {
        await using var insert = connection.Command("""
            INSERT INTO trips(trip_id, registrant_id, country_code, subdivision_code, lat, lng, from_date, to_date)
            VALUES ($id, $r, $c, $s, $lat, $lng, $from, $to)
            """, tx, ("$id", leg.TripId), ("$r", registrantId), ("$c", leg.CountryCode), ("$s", Blank(leg.SubdivisionCode)),
            ("$lat", leg.Location?.Latitude), ("$lng", leg.Location?.Longitude), ("$from", leg.FromDate), ("$to", leg.ToDate));
        await insert.ExecuteNonQueryAsync(ct);
    }

    private static string? Blank(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
