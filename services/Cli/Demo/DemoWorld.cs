using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Cli.Demo;

/// <summary>A capital (or main city) of a country with a post, for placing demo people and sites.</summary>
internal sealed record City(string CountryCode, string Name, double Latitude, double Longitude);

/// <summary>
/// The demo world, generated from a fixed seed so every run (and every machine) gets the same
/// registrants and companies. All people are fictitious; addresses use reserved test domains.
/// </summary>
internal sealed class DemoWorld(int seed)
{
    /// <summary>The capitals of the countries the seeded posts cover.</summary>
    public static readonly IReadOnlyList<City> Capitals =
    [
        new("AM", "Erevan", 40.18, 44.51), new("BF", "Ouagadougou", 12.37, -1.52), new("CD", "Kinshasa", -4.32, 15.31),
        new("CI", "Abidjan", 5.36, -4.01), new("CO", "Bogota", 4.71, -74.07), new("DZ", "Alger", 36.75, 3.06),
        new("EG", "Le Caire", 30.04, 31.24), new("ET", "Addis-Abeba", 9.03, 38.74), new("GE", "Tbilissi", 41.72, 44.79),
        new("HT", "Port-au-Prince", 18.59, -72.31), new("IQ", "Bagdad", 33.31, 44.36), new("JO", "Amman", 31.95, 35.93),
        new("KE", "Nairobi", -1.29, 36.82), new("LB", "Beyrouth", 33.89, 35.50), new("MA", "Rabat", 34.02, -6.84),
        new("ML", "Bamako", 12.64, -8.00), new("MR", "Nouakchott", 18.08, -15.98), new("MX", "Mexico", 19.43, -99.13),
        new("NE", "Niamey", 13.51, 2.11), new("NP", "Katmandou", 27.72, 85.32), new("PH", "Manille", 14.60, 120.98),
        new("PK", "Islamabad", 33.68, 73.05), new("SN", "Dakar", 14.72, -17.47), new("TD", "N'Djamena", 12.13, 15.06),
        new("TH", "Bangkok", 13.76, 100.50), new("TN", "Tunis", 36.81, 10.18), new("TR", "Ankara", 39.93, 32.86),
        new("UA", "Kyiv", 50.45, 30.52), new("VE", "Caracas", 10.48, -66.90),
    ];

    /// <summary>Secondary cities of the demo's crisis country, outside the capital's crisis circle.</summary>
    public static readonly IReadOnlyList<City> MaliProvinces =
    [
        new("ML", "Mopti", 14.49, -4.19), new("ML", "Kayes", 14.45, -11.44), new("ML", "Sikasso", 11.32, -5.67),
    ];

    private static readonly string[] GivenNames = ["Camille", "Louis", "Aminata", "Hugo", "Chloé", "Moussa", "Léa", "Jules", "Inès", "Paul", "Fatou", "Nora", "Yanis", "Emma", "Karim", "Sarah"];
    private static readonly string[] FamilyNames = ["Martin", "Bernard", "Diallo", "Traoré", "Dubois", "Moreau", "Laurent", "Keita", "Lefèvre", "Garcia", "Roux", "Coulibaly", "Fournier", "Girard", "Mercier", "Blanc"];

    private readonly Random _random = new(seed);

    public string Name() => $"{GivenNames[_random.Next(GivenNames.Length)]} {FamilyNames[_random.Next(FamilyNames.Length)]}";

    public int Next(int max) => _random.Next(max);

    public double NextDouble() => _random.NextDouble();

    /// <summary>A point within about <paramref name="km"/> kilometres of the city.</summary>
    public LatLng Near(City city, double km)
    {
        var dLat = (_random.NextDouble() * 2 - 1) * km / 111.0;
        var dLon = (_random.NextDouble() * 2 - 1) * km / (111.0 * Math.Cos(city.Latitude * Math.PI / 180));
        return new LatLng { Latitude = Math.Round(city.Latitude + dLat, 5), Longitude = Math.Round(city.Longitude + dLon, 5) };
    }

    /// <summary>The country of the next registrant: the crisis country gets a tenth of everyone.</summary>
    public City HomeCity(string crisisCountry)
    {
        if (_random.NextDouble() < 0.10)
        {
            var capital = Capitals.First(c => c.CountryCode == crisisCountry);
            return _random.NextDouble() < 0.75 || crisisCountry != "ML" ? capital : MaliProvinces[_random.Next(MaliProvinces.Count)];
        }

        return Capitals[_random.Next(Capitals.Count)];
    }
}
