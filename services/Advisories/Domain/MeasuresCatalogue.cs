using Dcis.Crisis.Common.V1;

namespace Dcis.Crisis.Advisories.Domain;

/// <summary>
/// Measures recommended to companies for each level, in French and English. Defaults below;
/// configuration <c>Advisories:Measures:&lt;level 1-4&gt;:&lt;n&gt;:Fr|En</c> replaces a level's list.
/// </summary>
internal sealed class MeasuresCatalogue
{
    private static readonly Dictionary<int, (string Fr, string En)[]> Defaults = new()
    {
        [1] =
        [
            ("Appliquer les règles de sécurité habituelles.", "Apply the usual security rules."),
        ],
        [2] =
        [
            ("Renforcer la vigilance et suivre les consignes des autorités locales.", "Be more vigilant and follow local authorities' instructions."),
            ("Vérifier les coordonnées des voyageurs et l'enregistrement auprès du consulat.", "Check travellers' contact details and consular registration."),
        ],
        [3] =
        [
            ("Suspendre les déplacements non essentiels.", "Suspend non-essential travel."),
            ("Revoir les plans d'évacuation et de mise à l'abri des sites.", "Review the sites' evacuation and shelter plans."),
            ("Confirmer la joignabilité de chaque expatrié et voyageur.", "Confirm every expatriate and traveller can be reached."),
        ],
        [4] =
        [
            ("Évacuer le personnel non essentiel.", "Evacuate non-essential staff."),
            ("Prendre contact avec le service de sécurité intérieure de l'ambassade.", "Contact the embassy's internal security service."),
            ("Annuler tout déplacement vers la zone.", "Cancel all travel to the area."),
        ],
    };

    private readonly Dictionary<int, IReadOnlyList<LocalizedText>> _measures = [];

    public MeasuresCatalogue(IConfiguration? configuration = null)
    {
        foreach (var (level, defaults) in Defaults)
        {
            var configured = configuration?.GetSection($"Advisories:Measures:{level}").GetChildren()
                .Select(c => new LocalizedText { Fr = c["Fr"] ?? string.Empty, En = c["En"] ?? string.Empty })
                .Where(t => t.Fr.Length > 0 || t.En.Length > 0)
                .ToList();
            _measures[level] = configured is { Count: > 0 }
                ? configured
                : defaults.Select(d => new LocalizedText { Fr = d.Fr, En = d.En }).ToList();
        }
    }

    public IReadOnlyList<LocalizedText> For(ThreatLevel level) =>
        _measures.TryGetValue((int)level, out var list) ? list : [];
}
