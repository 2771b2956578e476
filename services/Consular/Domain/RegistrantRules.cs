using Dcis.Crisis.Common.V1;
using Dcis.Crisis.Consular.V1;
using Dcis.Crisis.Events.V1;
using Dcis.Crisis.Shared.Errors;

namespace Dcis.Crisis.Consular.Domain;

/// <summary>Validation of registrants and trips, and the channel order of a person.</summary>
internal static class RegistrantRules
{
    public const int MaxTrips = 50;

    /// <summary>Validates and normalises (defaults) a registrant; throws with every field violation.</summary>
    public static Registrant Normalize(Registrant? input, DateTimeOffset now)
    {
        var v = new Validator();
        if (input is null)
        {
            v.Add("registrant", "is required").ThrowIfInvalid();
        }

        var r = input!.Clone();
        v.Required("registrant.full_name", r.FullName, 200)
            .Email("registrant.email", r.Email)
            .E164("registrant.mobile", r.Mobile)
            .Check(r.Home is not null || r.Trips.Count > 0, "registrant.home", "a resident needs a home area, a traveller a trip leg")
            .Check(r.Trips.Count <= MaxTrips, "registrant.trips", $"at most {MaxTrips} legs")
            .Check(r.Language is Language.Fr or Language.En, "registrant.language", "must be LANGUAGE_FR or LANGUAGE_EN")
            .Check(r.HouseholdSize is >= 0 and <= 20, "registrant.household_size", "must be between 1 and 20")
            .Check(r.ConsentTime is not null, "registrant.consent_time", "is required")
            .Check(r.ConsentTime is null || r.ConsentTime.ToDateTimeOffset() <= now.AddMinutes(5), "registrant.consent_time", "must not be in the future");
        if (r.Home is { } home)
        {
            v.Check(Iso.IsCountry(home.CountryCode), "registrant.home.country_code", "must be a known ISO 3166-1 alpha-2 code such as ML")
                .Check(string.IsNullOrEmpty(home.SubdivisionCode) || Iso.IsSubdivisionOf(home.SubdivisionCode, home.CountryCode),
                    "registrant.home.subdivision_code", "must be a known ISO 3166-2 code of the country")
                .MaxLength("registrant.home.city", home.City, 200);
            if (home.Location is not null)
            {
                v.LatLng("registrant.home.location", home.Location);
            }
        }

        for (var i = 0; i < Math.Min(r.Trips.Count, MaxTrips); i++)
        {
            Trip(v, $"registrant.trips[{i}]", r.Trips[i]);
        }

        if (r.EmergencyContact is { } ec)
        {
            v.Required("registrant.emergency_contact.name", ec.Name, 200)
                .E164("registrant.emergency_contact.phone", ec.Phone)
                .Email("registrant.emergency_contact.email", ec.Email);
        }

        var channels = Channels(r).Select(c => c.Channel).ToList();
        v.Check(channels.Count > 0, "registrant.app_inbox", "at least one contact channel (e-mail, mobile or app inbox) is required");
        v.Check(r.PreferredChannel == Channel.Unspecified || channels.Contains(r.PreferredChannel), "registrant.preferred_channel",
            "must be a channel the person has (an e-mail, a mobile or the app inbox)");
        v.ThrowIfInvalid();

        if (r.PreferredChannel == Channel.Unspecified)
        {
            r.PreferredChannel = channels[0];
        }

        if (r.HouseholdSize == 0)
        {
            r.HouseholdSize = 1;
        }

        foreach (var trip in r.Trips.Where(t => string.IsNullOrEmpty(t.TripId)))
        {
            trip.TripId = NewId("trip");
        }

        r.Kind = KindOf(r.Home is not null, r.Trips.Count > 0);
        return r;
    }

    public static void Trip(Validator v, string field, TripLeg leg)
    {
        ArgumentNullException.ThrowIfNull(v);
        ArgumentNullException.ThrowIfNull(leg);
        v.Check(Iso.IsCountry(leg.CountryCode), $"{field}.country_code", "must be a known ISO 3166-1 alpha-2 code such as NP")
            .Check(string.IsNullOrEmpty(leg.SubdivisionCode) || Iso.IsSubdivisionOf(leg.SubdivisionCode, leg.CountryCode),
                $"{field}.subdivision_code", "must be a known ISO 3166-2 code of the country")
            .MaxLength($"{field}.city", leg.City, 200);
        var fromOk = Iso.TryParseDate(leg.FromDate, out var from);
        var toOk = Iso.TryParseDate(leg.ToDate, out var to);
        v.Check(fromOk, $"{field}.from_date", "must be a date such as 2026-12-01")
            .Check(toOk, $"{field}.to_date", "must be a date such as 2026-12-15");
        if (fromOk && toOk)
        {
            v.Check(to >= from, $"{field}.to_date", "must not be before from_date")
                .Check(to.DayNumber - from.DayNumber <= 366, $"{field}.to_date", "a leg lasts at most a year");
        }

        if (leg.Location is not null)
        {
            v.LatLng($"{field}.location", leg.Location);
        }
    }

    public static RegistrantKind KindOf(bool resident, bool traveller) => (resident, traveller) switch
    {
        (true, true) => RegistrantKind.Both,
        (true, false) => RegistrantKind.Resident,
        (false, true) => RegistrantKind.Traveller,
        _ => RegistrantKind.Unspecified,
    };

    /// <summary>The person's addresses: the preferred channel first, then the others they have
    /// (app inbox, SMS, e-mail), each a fallback for the one before.</summary>
    public static List<ChannelAddress> Channels(Registrant r) =>
        Channels(r.RegistrantId, r.Email, r.Mobile, r.AppInbox, r.PreferredChannel);

    public static List<ChannelAddress> Channels(string registrantId, string? email, string? mobile, bool appInbox, Channel preferred)
    {
        var all = new List<ChannelAddress>(3);
        if (appInbox)
        {
            all.Add(new ChannelAddress { Channel = Channel.AppInbox, Address = registrantId });
        }

        if (!string.IsNullOrEmpty(mobile))
        {
            all.Add(new ChannelAddress { Channel = Channel.Sms, Address = mobile });
        }

        if (!string.IsNullOrEmpty(email))
        {
            all.Add(new ChannelAddress { Channel = Channel.Email, Address = email });
        }

        var index = all.FindIndex(a => a.Channel == preferred);
        if (index > 0)
        {
            var first = all[index];
            all.RemoveAt(index);
            all.Insert(0, first);
        }

        return all;
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.CreateVersion7():N}";
}
