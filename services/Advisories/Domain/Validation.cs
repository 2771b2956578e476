using System.Text.RegularExpressions;
using Dcis.Crisis.Advisories.V1;
using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Hosting;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>Validation of what companies send. Field names are the proto paths.</summary>
internal static partial class Validation
{
    public const int MaxContacts = 20;
    public const int MaxLegs = 20;
    public const int MaxSubscriptionTargets = 200;

    public static void CompanyId(Validator v, string field, string? id) =>
        v.Check(!string.IsNullOrEmpty(id) && CompanyIdPattern().IsMatch(id), field, "must be 1 to 64 characters [a-z0-9-_]");

    public static void Company(Validator v, Company company)
    {
        v.Required("company.name", company.Name, 200);
        v.Check(company.Contacts.Count <= MaxContacts, "company.contacts", $"at most {MaxContacts}");
        for (var i = 0; i < company.Contacts.Count; i++)
        {
            var c = company.Contacts[i];
            v.Required($"company.contacts[{i}].display_name", c.DisplayName, 200)
                .Required($"company.contacts[{i}].email", c.Email, 254)
                .Email($"company.contacts[{i}].email", c.Email)
                .E164($"company.contacts[{i}].phone", c.Phone);
        }
    }

    public static void Site(Validator v, Site? site)
    {
        if (site is null)
        {
            v.Add("site", "is required");
            return;
        }

        v.Required("site.name", site.Name, 200).MaxLength("site.reference", site.Reference, 64).MaxLength("site.city", site.City, 200);
        Country(v, "site.country_code", site.CountryCode);
        Subdivision(v, "site.subdivision_code", site.SubdivisionCode, site.CountryCode);
        Location(v, "site.location", site.Location);
        v.Check(site.ExpatriateHeadcount >= 0, "site.expatriate_headcount", "must be 0 or more")
            .Check(site.LocalHeadcount >= 0, "site.local_headcount", "must be 0 or more");
    }

    public static void Trip(Validator v, StaffTrip? trip)
    {
        if (trip is null)
        {
            v.Add("trip", "is required");
            return;
        }

        v.Required("trip.traveller_reference", trip.TravellerReference, 64).MaxLength("trip.traveller_name", trip.TravellerName, 200)
            .Check(trip.Legs.Count is >= 1 and <= MaxLegs, "trip.legs", $"must hold 1 to {MaxLegs} legs");
        for (var i = 0; i < trip.Legs.Count; i++)
        {
            var leg = trip.Legs[i];
            Country(v, $"trip.legs[{i}].country_code", leg.CountryCode);
            Subdivision(v, $"trip.legs[{i}].subdivision_code", leg.SubdivisionCode, leg.CountryCode);
            v.MaxLength($"trip.legs[{i}].city", leg.City, 200);
            Location(v, $"trip.legs[{i}].location", leg.Location);
            v.Check(leg.FromTime is not null, $"trip.legs[{i}].from_time", "is required")
                .Check(leg.ToTime is not null, $"trip.legs[{i}].to_time", "is required");
            if (leg.FromTime is not null && leg.ToTime is not null)
            {
                v.Check(leg.ToTime.ToDateTimeOffset() > leg.FromTime.ToDateTimeOffset(), $"trip.legs[{i}].to_time", "must be after from_time");
            }
        }
    }

    public static void Subscription(Validator v, Subscription? s)
    {
        if (s is null)
        {
            v.Add("subscription", "is required");
            return;
        }

        v.Check(s.CountryCodes.Count + s.SubdivisionCodes.Count is >= 1 and <= MaxSubscriptionTargets, "subscription.country_codes",
            $"give 1 to {MaxSubscriptionTargets} countries or regions");
        for (var i = 0; i < s.CountryCodes.Count; i++)
        {
            Country(v, $"subscription.country_codes[{i}]", s.CountryCodes[i]);
        }

        for (var i = 0; i < s.SubdivisionCodes.Count; i++)
        {
            v.Check(SubdivisionPattern().IsMatch(s.SubdivisionCodes[i] ?? string.Empty), $"subscription.subdivision_codes[{i}]",
                "must be an ISO 3166-2 code such as NG-BO");
        }

        v.Check(System.Enum.IsDefined(s.MinimumLevel), "subscription.minimum_level", "unknown level")
            .Check(s.Categories.All(c => c != ThreatCategory.Unspecified && System.Enum.IsDefined(c)), "subscription.categories", "unknown category");
    }

    public static void WebhookUrl(Validator v, string field, string? url) =>
        v.Check(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
                && url!.Length <= 2000 && string.IsNullOrEmpty(uri.UserInfo),
            field, "must be an absolute http(s) URL without credentials, at most 2,000 characters");

    /// <summary>The longest a rotated-out webhook secret may keep signing.</summary>
    public static readonly TimeSpan MaxSecretOverlap = TimeSpan.FromDays(7);

    /// <summary>The overlap of a secret rotation: unset = 24 hours; zero = revoke now; whole seconds up to 7 days.</summary>
    public static TimeSpan SecretOverlap(Validator v, Google.Protobuf.WellKnownTypes.Duration? overlap)
    {
        if (overlap is null)
        {
            return TimeSpan.FromHours(24);
        }

        var valid = overlap.Seconds >= 0 && overlap.Nanos == 0 && overlap.Seconds <= (long)MaxSecretOverlap.TotalSeconds;
        v.Check(valid, "previous_secret_overlap", "must be whole seconds from 0 (revoke now) to 7 days");
        return valid ? TimeSpan.FromSeconds(overlap.Seconds) : TimeSpan.Zero;
    }

    public static void Id(Validator v, string field, string? id) => v.Required(field, id, 128);

    public static void Country(Validator v, string field, string? code) =>
        v.Check(code is { Length: 2 } && code.All(char.IsAsciiLetterUpper), field, "must be an ISO 3166-1 alpha-2 code in upper case, e.g. ML");

    private static void Subdivision(Validator v, string field, string? code, string? country)
    {
        if (string.IsNullOrEmpty(code))
        {
            return;
        }

        v.Check(SubdivisionPattern().IsMatch(code) && country is not null && code.StartsWith(country + "-", StringComparison.Ordinal),
            field, "must be an ISO 3166-2 code of the country, e.g. ML-BKO");
    }

    private static void Location(Validator v, string field, LatLng? p)
    {
        if (p is null)
        {
            return;
        }

        v.Check(p.Latitude is >= -90 and <= 90 && !double.IsNaN(p.Latitude), field + ".latitude", "must be between -90 and 90")
            .Check(p.Longitude is >= -180 and <= 180 && !double.IsNaN(p.Longitude), field + ".longitude", "must be between -180 and 180");
    }

    public static void Page(Validator v, int pageSize) => v.PageSize("page_size", pageSize);

    public static int MaxText => Limits.MaxTextLength;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex CompanyIdPattern();

    [GeneratedRegex("^[A-Z]{2}-[A-Z0-9]{1,3}$")]
    private static partial Regex SubdivisionPattern();
}
