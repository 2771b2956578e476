using System.Security.Cryptography;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;

namespace Dcis.Crisis.Advisories.Storage;

/// <summary>Companies and what they register: contacts, sites, staff trips, subscriptions, webhook endpoints.</summary>
internal sealed class CompanyStore(SqliteDatabase database, TimeProvider time)
{
    public async Task<Company> CreateCompanyAsync(Company company, CancellationToken ct)
    {
        AssignContactIds(company);
        var created = time.GetUtcNow();
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            "INSERT OR IGNORE INTO companies(company_id, name, contacts, created_at) VALUES ($id, $name, $contacts, $at)", null,
            ("$id", company.CompanyId), ("$name", company.Name), ("$contacts", ContactsBlob(company)), ("$at", created.ToUnixTimeMilliseconds()));
        if (await command.ExecuteNonQueryAsync(ct) == 0)
        {
            throw new AlreadyExistsException($"company '{company.CompanyId}' already exists");
        }

        company.CreatedAt = Timestamp.FromDateTimeOffset(created);
        return company;
    }

    public async Task<Company> GetCompanyAsync(string companyId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command("SELECT name, contacts, created_at FROM companies WHERE company_id = $id", null, ("$id", companyId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            throw new NotFoundException("company", companyId);
        }

        var company = new Company
        {
            CompanyId = companyId,
            Name = reader.GetString(0),
            CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2))),
        };
        company.Contacts.AddRange(Company.Parser.ParseFrom((byte[])reader.GetValue(1)).Contacts);
        return company;
    }

    public async Task<Company> UpdateCompanyAsync(Company company, CancellationToken ct)
    {
        AssignContactIds(company);
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            "UPDATE companies SET name = $name, contacts = $contacts WHERE company_id = $id", null,
            ("$id", company.CompanyId), ("$name", company.Name), ("$contacts", ContactsBlob(company)));
        if (await command.ExecuteNonQueryAsync(ct) == 0)
        {
            throw new NotFoundException("company", company.CompanyId);
        }

        return await GetCompanyAsync(company.CompanyId, ct);
    }

    public static async Task EnsureCompanyAsync(SqliteConnection connection, string companyId, CancellationToken ct)
    {
        await using var command = connection.Command("SELECT 1 FROM companies WHERE company_id = $id", null, ("$id", companyId));
        if (await command.ExecuteScalarAsync(ct) is null)
        {
            throw new NotFoundException("company", companyId);
        }
    }

    public async Task<Site> CreateSiteAsync(string companyId, Site site, CancellationToken ct)
    {
        site.SiteId = "site-" + Guid.NewGuid().ToString("N");
        await using var connection = await database.OpenAsync(ct);
        await EnsureCompanyAsync(connection, companyId, ct);
        await using var command = connection.Command(
            """
            INSERT INTO sites(site_id, company_id, name, reference, country_code, subdivision_code, city, latitude, longitude, expatriates, locals)
            VALUES ($id, $company, $name, $ref, $country, $sub, $city, $lat, $lon, $expats, $locals)
            """,
            null, ("$id", site.SiteId), ("$company", companyId), ("$name", site.Name), ("$ref", site.Reference), ("$country", site.CountryCode),
            ("$sub", site.SubdivisionCode), ("$city", site.City), ("$lat", site.Location?.Latitude), ("$lon", site.Location?.Longitude),
            ("$expats", site.ExpatriateHeadcount), ("$locals", site.LocalHeadcount));
        await command.ExecuteNonQueryAsync(ct);
        return site;
    }

    public async Task<(List<Site> Sites, string Next)> ListSitesAsync(string companyId, int pageSize, string pageToken, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            """
            SELECT site_id, name, reference, country_code, subdivision_code, city, latitude, longitude, expatriates, locals
            FROM sites WHERE company_id = $company AND site_id > $after ORDER BY site_id LIMIT $n
            """,
            null, ("$company", companyId), ("$after", pageToken), ("$n", pageSize + 1));
        var sites = new List<Site>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var site = new Site
            {
                SiteId = reader.GetString(0), Name = reader.GetString(1), Reference = reader.GetString(2), CountryCode = reader.GetString(3),
                SubdivisionCode = reader.GetString(4), City = reader.GetString(5), ExpatriateHeadcount = reader.GetInt32(8), LocalHeadcount = reader.GetInt32(9),
            };
            if (!reader.IsDBNull(6) && !reader.IsDBNull(7))
            {
                site.Location = new LatLng { Latitude = reader.GetDouble(6), Longitude = reader.GetDouble(7) };
            }

            sites.Add(site);
        }

        return Page(sites, pageSize, s => s.SiteId);
    }

    public Task DeleteSiteAsync(string companyId, string siteId, CancellationToken ct) =>
        DeleteAsync("DELETE FROM sites WHERE company_id = $company AND site_id = $id", companyId, siteId, "site", ct);

    public async Task<StaffTrip> CreateTripAsync(string companyId, StaffTrip trip, CancellationToken ct)
    {
        trip.TripId = "trip-" + Guid.NewGuid().ToString("N");
        await using var connection = await database.OpenAsync(ct);
        await EnsureCompanyAsync(connection, companyId, ct);
        await using var tx = connection.BeginTransaction();
        await using (var command = connection.Command(
            "INSERT INTO trips(trip_id, company_id, traveller_reference, traveller_name, data) VALUES ($id, $company, $ref, $name, $data)", tx,
            ("$id", trip.TripId), ("$company", companyId), ("$ref", trip.TravellerReference), ("$name", trip.TravellerName), ("$data", trip.ToByteArray())))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        for (var i = 0; i < trip.Legs.Count; i++)
        {
            var leg = trip.Legs[i];
            await using var command = connection.Command(
                """
                INSERT INTO trip_legs(trip_id, leg_index, company_id, country_code, subdivision_code, latitude, longitude, from_time, to_time)
                VALUES ($id, $i, $company, $country, $sub, $lat, $lon, $from, $to)
                """,
                tx, ("$id", trip.TripId), ("$i", i), ("$company", companyId), ("$country", leg.CountryCode), ("$sub", leg.SubdivisionCode),
                ("$lat", leg.Location?.Latitude), ("$lon", leg.Location?.Longitude),
                ("$from", leg.FromTime.ToDateTimeOffset().ToUnixTimeMilliseconds()), ("$to", leg.ToTime.ToDateTimeOffset().ToUnixTimeMilliseconds()));
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return trip;
    }

    public async Task<(List<StaffTrip> Trips, string Next)> ListTripsAsync(string companyId, int pageSize, string pageToken, CancellationToken ct)
    {
        var list = await ListBlobsAsync("SELECT trip_id, data FROM trips WHERE company_id = $company AND trip_id > $after ORDER BY trip_id LIMIT $n",
            companyId, pageSize, pageToken, StaffTrip.Parser, ct);
        return Page(list, pageSize, t => t.TripId);
    }

    public Task DeleteTripAsync(string companyId, string tripId, CancellationToken ct) =>
        DeleteAsync("DELETE FROM trips WHERE company_id = $company AND trip_id = $id", companyId, tripId, "trip", ct);

    public async Task<Subscription> CreateSubscriptionAsync(string companyId, Subscription subscription, CancellationToken ct)
    {
        subscription.SubscriptionId = "sub-" + Guid.NewGuid().ToString("N");
        await using var connection = await database.OpenAsync(ct);
        await EnsureCompanyAsync(connection, companyId, ct);
        await using var tx = connection.BeginTransaction();
        await using (var command = connection.Command(
            "INSERT INTO subscriptions(subscription_id, company_id, data) VALUES ($id, $company, $data)", tx,
            ("$id", subscription.SubscriptionId), ("$company", companyId), ("$data", subscription.ToByteArray())))
        {
            await command.ExecuteNonQueryAsync(ct);
        }

        var targets = subscription.CountryCodes.Select(c => (Country: c, Sub: string.Empty))
            .Concat(subscription.SubdivisionCodes.Select(s => (Country: s[..2], Sub: s)));
        foreach (var (country, sub) in targets.Distinct())
        {
            await using var command = connection.Command(
                "INSERT INTO subscription_targets(subscription_id, country_code, subdivision_code) VALUES ($id, $c, $s)", tx,
                ("$id", subscription.SubscriptionId), ("$c", country), ("$s", sub));
            await command.ExecuteNonQueryAsync(ct);
        }

        await tx.CommitAsync(ct);
        return subscription;
    }

    public async Task<(List<Subscription> Subscriptions, string Next)> ListSubscriptionsAsync(string companyId, int pageSize, string pageToken, CancellationToken ct)
    {
        var list = await ListBlobsAsync(
            "SELECT subscription_id, data FROM subscriptions WHERE company_id = $company AND subscription_id > $after ORDER BY subscription_id LIMIT $n",
            companyId, pageSize, pageToken, Subscription.Parser, ct);
        return Page(list, pageSize, s => s.SubscriptionId);
    }

    public Task DeleteSubscriptionAsync(string companyId, string subscriptionId, CancellationToken ct) =>
        DeleteAsync("DELETE FROM subscriptions WHERE company_id = $company AND subscription_id = $id", companyId, subscriptionId, "subscription", ct);

    public async Task<WebhookEndpoint> CreateEndpointAsync(string companyId, string url, CancellationToken ct)
    {
        var endpoint = new WebhookEndpoint
        {
            EndpointId = "wh-" + Guid.NewGuid().ToString("N"),
            Url = url,
            Active = true,
            Secret = NewSecret(),
            CreatedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        await using var connection = await database.OpenAsync(ct);
        await EnsureCompanyAsync(connection, companyId, ct);
        await using var command = connection.Command(
            "INSERT INTO webhook_endpoints(endpoint_id, company_id, url, secret, active, created_at) VALUES ($id, $company, $url, $secret, 1, $at)", null,
            ("$id", endpoint.EndpointId), ("$company", companyId), ("$url", url), ("$secret", endpoint.Secret),
            ("$at", endpoint.CreatedAt.ToDateTimeOffset().ToUnixTimeMilliseconds()));
        await command.ExecuteNonQueryAsync(ct);
        return endpoint;
    }

    /// <summary>Gives an endpoint a new secret, returned in the endpoint this once. The previous one keeps signing beside
    /// it for <paramref name="overlap"/> (none when zero); rotating again within that time drops the oldest.</summary>
    public async Task<(WebhookEndpoint Endpoint, DateTimeOffset? PreviousExpiresAt)> RotateEndpointSecretAsync(string companyId, string endpointId,
        TimeSpan overlap, CancellationToken ct)
    {
        var secret = NewSecret();
        DateTimeOffset? expires = overlap > TimeSpan.Zero ? time.GetUtcNow() + overlap : null;
        await using (var connection = await database.OpenAsync(ct))
        {
            await using var command = connection.Command(
                """
                UPDATE webhook_endpoints SET previous_secret = CASE WHEN $expires IS NULL THEN NULL ELSE secret END,
                    previous_secret_expires_at = $expires, secret = $secret
                WHERE company_id = $company AND endpoint_id = $id
                """,
                null, ("$expires", expires?.ToUnixTimeMilliseconds()), ("$secret", secret), ("$company", companyId), ("$id", endpointId));
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new NotFoundException("webhook endpoint", endpointId);
            }
        }

        var endpoint = await GetEndpointAsync(companyId, endpointId, ct);
        endpoint.Secret = secret;
        return (endpoint, expires);
    }

    /// <summary>A Standard Webhooks signing secret: 32 random bytes as <c>whsec_&lt;base64&gt;</c>.</summary>
    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public async Task<(List<WebhookEndpoint> Endpoints, string Next)> ListEndpointsAsync(string companyId, int pageSize, string pageToken, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            """
            SELECT endpoint_id, url, active, disabled_reason, consecutive_failures, created_at FROM webhook_endpoints
            WHERE company_id = $company AND endpoint_id > $after ORDER BY endpoint_id LIMIT $n
            """,
            null, ("$company", companyId), ("$after", pageToken), ("$n", pageSize + 1));
        var list = new List<WebhookEndpoint>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(ReadEndpoint(reader));
        }

        return Page(list, pageSize, e => e.EndpointId);
    }

    public async Task<WebhookEndpoint> GetEndpointAsync(string companyId, string endpointId, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(
            "SELECT endpoint_id, url, active, disabled_reason, consecutive_failures, created_at FROM webhook_endpoints WHERE company_id = $company AND endpoint_id = $id",
            null, ("$company", companyId), ("$id", endpointId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadEndpoint(reader) : throw new NotFoundException("webhook endpoint", endpointId);
    }

    public async Task<WebhookEndpoint> SetEndpointActiveAsync(string companyId, string endpointId, bool active, CancellationToken ct)
    {
        await using (var connection = await database.OpenAsync(ct))
        {
            await using var command = connection.Command(
                active
                    ? "UPDATE webhook_endpoints SET active = 1, disabled_reason = '', consecutive_failures = 0 WHERE company_id = $company AND endpoint_id = $id"
                    : "UPDATE webhook_endpoints SET active = 0, disabled_reason = 'disabled by the company' WHERE company_id = $company AND endpoint_id = $id",
                null, ("$company", companyId), ("$id", endpointId));
            if (await command.ExecuteNonQueryAsync(ct) == 0)
            {
                throw new NotFoundException("webhook endpoint", endpointId);
            }
        }

        return await GetEndpointAsync(companyId, endpointId, ct);
    }

    private static WebhookEndpoint ReadEndpoint(SqliteDataReader reader) => new()
    {
        EndpointId = reader.GetString(0),
        Url = reader.GetString(1),
        Active = reader.GetInt64(2) == 1,
        DisabledReason = reader.GetString(3),
        ConsecutiveFailures = reader.GetInt32(4),
        CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))),
    };

    private async Task DeleteAsync(string sql, string companyId, string id, string resource, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(sql, null, ("$company", companyId), ("$id", id));
        if (await command.ExecuteNonQueryAsync(ct) == 0)
        {
            throw new NotFoundException(resource, id);
        }
    }

    private async Task<List<T>> ListBlobsAsync<T>(string sql, string companyId, int pageSize, string pageToken, MessageParser<T> parser, CancellationToken ct)
        where T : IMessage<T>
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.Command(sql, null, ("$company", companyId), ("$after", pageToken), ("$n", pageSize + 1));
        var list = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(parser.ParseFrom((byte[])reader.GetValue(1)));
        }

        return list;
    }

    private static (List<T>, string) Page<T>(List<T> rows, int pageSize, Func<T, string> key)
    {
        if (rows.Count <= pageSize)
        {
            return (rows, string.Empty);
        }

        rows.RemoveAt(rows.Count - 1);
        return (rows, key(rows[^1]));
    }

    private static void AssignContactIds(Company company)
    {
        for (var i = 0; i < company.Contacts.Count; i++)
        {
            company.Contacts[i].ContactId = $"c-{i + 1}";
        }
    }

    private static byte[] ContactsBlob(Company company)
    {
        var holder = new Company();
        holder.Contacts.AddRange(company.Contacts);
        return holder.ToByteArray();
    }
}
