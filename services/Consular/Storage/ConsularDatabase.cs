using System.Reflection;
using Dcis.Crisis.Consular.Domain;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf;

namespace Dcis.Crisis.Consular.Storage;

/// <summary>Schema, first-start seeding of posts, and the post directory's loading.</summary>
internal sealed class ConsularDatabase(SqliteDatabase database, PostDirectory posts)
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS posts (
            post_id TEXT PRIMARY KEY,
            data TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS registrants (
            registrant_id TEXT PRIMARY KEY,
            full_name TEXT NOT NULL,
            home_country TEXT,
            home_subdivision TEXT,
            home_lat REAL,
            home_lng REAL,
            email TEXT,
            mobile TEXT,
            app_inbox INTEGER NOT NULL DEFAULT 0,
            preferred_channel INTEGER NOT NULL,
            language INTEGER NOT NULL,
            household_size INTEGER NOT NULL DEFAULT 1,
            data TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_registrants_home ON registrants(home_country, registrant_id);
        CREATE TABLE IF NOT EXISTS trips (
            trip_id TEXT PRIMARY KEY,
            registrant_id TEXT NOT NULL REFERENCES registrants(registrant_id) ON DELETE CASCADE,
            country_code TEXT NOT NULL,
            subdivision_code TEXT,
            lat REAL,
            lng REAL,
            from_date TEXT NOT NULL,
            to_date TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_trips_country ON trips(country_code, registrant_id, to_date);
        CREATE INDEX IF NOT EXISTS ix_trips_registrant ON trips(registrant_id);
        CREATE INDEX IF NOT EXISTS ix_trips_end ON trips(to_date);
        CREATE TABLE IF NOT EXISTS alerts (
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            message_type INTEGER NOT NULL,
            post_id TEXT NOT NULL,
            area TEXT NOT NULL,
            level INTEGER NOT NULL,
            headline TEXT NOT NULL,
            body TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            priority INTEGER NOT NULL,
            state INTEGER NOT NULL,
            cause_event_id TEXT UNIQUE,
            crisis_id TEXT,
            issued_by TEXT NOT NULL,
            categories TEXT NOT NULL,
            arriving_days INTEGER NOT NULL,
            targeted INTEGER NOT NULL,
            PRIMARY KEY (alert_id, version)
        );
        CREATE INDEX IF NOT EXISTS ix_alerts_issued ON alerts(issued_at);
        CREATE TABLE IF NOT EXISTS alert_recipients (
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            registrant_id TEXT NOT NULL,
            status INTEGER NOT NULL,
            delivered_at TEXT,
            sent_at TEXT,
            PRIMARY KEY (alert_id, version, registrant_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ix_alert_recipients_registrant ON alert_recipients(registrant_id);
        CREATE TABLE IF NOT EXISTS alert_batches (
            event_id TEXT PRIMARY KEY,
            alert_id TEXT NOT NULL,
            version INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS ix_alert_batches_alert ON alert_batches(alert_id);
        CREATE TABLE IF NOT EXISTS assessment_versions (
            assessment_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS crises (
            crisis_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS wellbeing_checks (
            check_id TEXT PRIMARY KEY,
            crisis_id TEXT,
            post_id TEXT NOT NULL,
            area TEXT NOT NULL,
            started_at TEXT NOT NULL,
            remind_at TEXT NOT NULL,
            follow_up_at TEXT NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            reminded INTEGER NOT NULL DEFAULT 0,
            followed_up INTEGER NOT NULL DEFAULT 0,
            cause_event_id TEXT UNIQUE
        );
        CREATE TABLE IF NOT EXISTS wellbeing_targets (
            check_id TEXT NOT NULL,
            registrant_id TEXT NOT NULL,
            post_id TEXT NOT NULL,
            reply_code TEXT NOT NULL UNIQUE,
            case_reference TEXT NOT NULL,
            answer INTEGER NOT NULL DEFAULT 0,
            answer_text TEXT,
            answered_at TEXT,
            reminded INTEGER NOT NULL DEFAULT 0,
            follow_up INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (check_id, registrant_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS ix_wellbeing_targets_registrant ON wellbeing_targets(registrant_id);
        CREATE TABLE IF NOT EXISTS wellbeing_versions (
            check_id TEXT NOT NULL,
            post_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (check_id, post_id)
        );
        CREATE TABLE IF NOT EXISTS job_runs (
            job TEXT PRIMARY KEY,
            last_run TEXT NOT NULL
        );
        """;

    /// <summary>Creates the schema, seeds the posts if there are none, and loads the directory.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await database.MigrateAsync(Schema + Outbox.Schema + Inbox.Schema, cancellationToken);
        // Added after the first release: when the message reached a provider or the person.
        await database.AddColumnIfMissingAsync("alert_recipients", "sent_at", "TEXT", cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var count = connection.Command("SELECT COUNT(*) FROM posts"))
        {
            if ((long)(await count.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                await using var tx = connection.BeginTransaction();
                await using var insert = connection.Command("INSERT INTO posts(post_id, data) VALUES ($id, $data)", tx, ("$id", ""), ("$data", ""));
                foreach (var post in SeedPosts())
                {
                    insert.Parameters["$id"].Value = post.PostId;
                    insert.Parameters["$data"].Value = ProtoJson.Format(post);
                    await insert.ExecuteNonQueryAsync(cancellationToken);
                }

                await tx.CommitAsync(cancellationToken);
            }
        }

        var loaded = new List<Post>();
        await using var select = connection.Command("SELECT data FROM posts ORDER BY post_id");
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            loaded.Add(ProtoJson.Parse<Post>(reader.GetString(0)));
        }

        posts.Load(loaded);
    }

    /// <summary>Embassies and consulates of the seed set (reference data shipped with the service).</summary>
    public static IReadOnlyList<Post> SeedPosts()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Dcis.Crisis.Consular.posts.json")
            ?? throw new InvalidOperationException("posts seed missing");
        using var reader = new StreamReader(stream);
        return ProtoJson.Parse<ListPostsResponse>(reader.ReadToEnd()).Posts.ToList();
    }
}

/// <summary>Runs the database initialisation before anything else starts serving.</summary>
internal sealed class ConsularDatabaseStartup(ConsularDatabase database) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => database.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Proto JSON for columns holding small messages (areas, texts).</summary>
internal static class Json
{
    public static string Of(IMessage message) => ProtoJson.Format(message);
}
