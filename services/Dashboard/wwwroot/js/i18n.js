// French and English UI strings. Country names come from the browser (Intl.DisplayNames).
const strings = {
  fr: {
    title: 'Cellule de crise', skip: 'Aller au contenu', signout: 'Se déconnecter',
    'live.on': 'En direct', 'live.off': 'Hors ligne',
    'signin.title': 'Connexion', 'signin.help': "Collez un jeton d'accès (en développement : crisis token --role analyst).",
    'signin.token': "Jeton d'accès (bearer)", 'signin.submit': 'Se connecter', 'signin.refused': 'Jeton refusé ou rôle insuffisant (analyst ou crisis-cell-viewer).',
    'map.title': 'Niveaux de vigilance', 'map.pick': 'Choisir un pays', 'map.label': 'Carte du monde des niveaux de vigilance',
    'map.pickNone': '— Choisir un pays —', legend: 'Légende',
    'tab.alerts': 'Alertes en cours', 'tab.wellbeing': 'Mise en sécurité', 'tab.operations': 'Exploitation',
    'level.0': 'Non évalué', 'level.1': 'Vigilance normale', 'level.2': 'Vigilance renforcée',
    'level.3': 'Déconseillé sauf raison impérative', 'level.4': 'Formellement déconseillé',
    'panel.none': 'Sélectionnez un pays', 'panel.summary': 'Situation', 'panel.advice': 'Conseils', 'panel.categories': 'Menaces',
    'panel.zones': 'Zones', 'panel.history': 'Historique', 'panel.crises': 'Crises', 'panel.posts': 'Inscrits présents par poste',
    'panel.companies': 'Entreprises concernées (dernière vague)', 'panel.review': 'Réexamen avant le', 'panel.noAssessment': 'Aucune évaluation reçue.',
    'panel.sites': 'Sites', 'panel.travellers': 'Voyageurs', 'panel.companiesCount': 'Entreprises', 'panel.acknowledged': 'Accusés de réception',
    'panel.none.list': 'Aucun.', post: 'Poste', registrants: 'Inscrits', active: 'active', closed: 'close',
    'action.setLevel': 'Changer le niveau', 'action.level': 'Niveau', 'action.reason': 'Motif', 'action.emergency': 'Urgence (sans second avis)',
    'action.submit': 'Appliquer', 'action.declare': 'Déclarer une crise', 'action.kind': 'Type', 'action.titleFr': 'Titre (fr)',
    'action.titleEn': 'Titre (en)', 'action.wellbeing': 'Lancer la mise en sécurité', 'action.close': 'Clore', 'action.approve': 'Approuver',
    'action.reject': 'Rejeter', 'action.replay': 'Rejouer', 'action.done': 'Action envoyée', 'action.failed': 'Action refusée',
    'kind.1': 'Attentat', 'kind.2': 'Troubles', 'kind.3': 'Catastrophe naturelle', 'kind.4': 'Sanitaire', 'kind.5': 'Évacuation', 'kind.6': 'Autre',
    'alerts.none': 'Aucune alerte.', 'alerts.consular': 'Alerte consulaire', 'alerts.advisory': 'Vague d’avis entreprises',
    targeted: 'Ciblés', requested: 'En file', sent: 'Envoyés', delivered: 'Remis', failed: 'Échecs', acknowledged: 'Accusés',
    firstDelivery: '1re remise', lastDelivery: 'Dernière remise', progress: 'Progression des remises',
    'wb.none': 'Aucune mise en sécurité en cours.', 'wb.check': 'Contrôle', safe: 'En sécurité', needHelp: 'Besoin d’aide',
    noAnswer: 'Sans réponse', followUp: 'À relancer', total: 'Total', 'wb.escalations': 'Demandes d’aide (références)',
    'wb.namesNote': 'Les noms restent dans le service consulaire : les agents habilités les consultent avec la référence.',
    'ops.dead': 'Messages en échec (dead letters)', 'ops.approvals': 'Validations en attente', 'ops.reviews': 'Évaluations à réexaminer (30 j)',
    'ops.health': 'État des services', topic: 'Sujet', type: 'Type', time: 'Heure', country: 'Pays', status: 'État', 'ops.unavailable': 'threat-levels indisponible',
    'ops.replayed': 'rejoué', 'ops.notReplayable': 'non rejouable (données personnelles)',
    'sev.Low': 'faible', 'sev.Moderate': 'modérée', 'sev.High': 'élevée', 'sev.Severe': 'très élevée',
    'cat.Terrorism': 'Terrorisme', 'cat.ArmedConflict': 'Conflit armé', 'cat.CivilUnrest': 'Troubles civils', 'cat.CrimeAndKidnapping': 'Criminalité et enlèvements',
    'cat.DrugTrafficking': 'Trafic de stupéfiants', 'cat.ArmsTrafficking': 'Trafic d’armes', 'cat.Cybercrime': 'Cybercriminalité', 'cat.OrganisedCrime': 'Criminalité organisée',
    'cat.IrregularMigration': 'Immigration irrégulière', 'cat.NaturalHazards': 'Risques naturels', 'cat.Health': 'Santé',
    switchTo: 'Switch to English', reader: 'lecture seule', analyst: 'analyste',
  },
  en: {
    title: 'Crisis cell', skip: 'Skip to content', signout: 'Sign out',
    'live.on': 'Live', 'live.off': 'Offline',
    'signin.title': 'Sign in', 'signin.help': 'Paste an access token (development: crisis token --role analyst).',
    'signin.token': 'Access token (bearer)', 'signin.submit': 'Sign in', 'signin.refused': 'Token refused or role not allowed (analyst or crisis-cell-viewer).',
    'map.title': 'Threat levels', 'map.pick': 'Choose a country', 'map.label': 'World map of threat levels',
    'map.pickNone': '— Choose a country —', legend: 'Legend',
    'tab.alerts': 'Alerts in flight', 'tab.wellbeing': 'Wellbeing', 'tab.operations': 'Operations',
    'level.0': 'Not assessed', 'level.1': 'Normal vigilance', 'level.2': 'Increased vigilance',
    'level.3': 'Avoid non-essential travel', 'level.4': 'Do not travel',
    'panel.none': 'Select a country', 'panel.summary': 'Situation', 'panel.advice': 'Advice', 'panel.categories': 'Threats',
    'panel.zones': 'Zones', 'panel.history': 'History', 'panel.crises': 'Crises', 'panel.posts': 'Registrants present per post',
    'panel.companies': 'Companies affected (latest wave)', 'panel.review': 'Review by', 'panel.noAssessment': 'No assessment received.',
    'panel.sites': 'Sites', 'panel.travellers': 'Travellers', 'panel.companiesCount': 'Companies', 'panel.acknowledged': 'Acknowledged',
    'panel.none.list': 'None.', post: 'Post', registrants: 'Registrants', active: 'active', closed: 'closed',
    'action.setLevel': 'Change level', 'action.level': 'Level', 'action.reason': 'Reason', 'action.emergency': 'Emergency (no second analyst)',
    'action.submit': 'Apply', 'action.declare': 'Declare a crisis', 'action.kind': 'Kind', 'action.titleFr': 'Title (fr)',
    'action.titleEn': 'Title (en)', 'action.wellbeing': 'Start wellbeing check', 'action.close': 'Close', 'action.approve': 'Approve',
    'action.reject': 'Reject', 'action.replay': 'Replay', 'action.done': 'Action sent', 'action.failed': 'Action refused',
    'kind.1': 'Attack', 'kind.2': 'Unrest', 'kind.3': 'Natural disaster', 'kind.4': 'Health', 'kind.5': 'Evacuation', 'kind.6': 'Other',
    'alerts.none': 'No alerts.', 'alerts.consular': 'Consular alert', 'alerts.advisory': 'Company advisory wave',
    targeted: 'Targeted', requested: 'Queued', sent: 'Sent', delivered: 'Delivered', failed: 'Failed', acknowledged: 'Acknowledged',
    firstDelivery: 'First delivery', lastDelivery: 'Last delivery', progress: 'Delivery progress',
    'wb.none': 'No wellbeing check running.', 'wb.check': 'Check', safe: 'Safe', needHelp: 'Need help',
    noAnswer: 'No answer', followUp: 'Follow-up', total: 'Total', 'wb.escalations': 'Help requests (references)',
    'wb.namesNote': 'Names stay in the consular service: authorised officers look them up by reference.',
    'ops.dead': 'Dead letters', 'ops.approvals': 'Approvals waiting', 'ops.reviews': 'Assessments due for review (30 days)',
    'ops.health': 'Service health', topic: 'Topic', type: 'Type', time: 'Time', country: 'Country', status: 'Status', 'ops.unavailable': 'threat-levels unavailable',
    'ops.replayed': 'replayed', 'ops.notReplayable': 'not replayable (personal data)',
    'sev.Low': 'low', 'sev.Moderate': 'moderate', 'sev.High': 'high', 'sev.Severe': 'severe',
    'cat.Terrorism': 'Terrorism', 'cat.ArmedConflict': 'Armed conflict', 'cat.CivilUnrest': 'Civil unrest', 'cat.CrimeAndKidnapping': 'Crime and kidnapping',
    'cat.DrugTrafficking': 'Drug trafficking', 'cat.ArmsTrafficking': 'Arms trafficking', 'cat.Cybercrime': 'Cybercrime', 'cat.OrganisedCrime': 'Organised crime',
    'cat.IrregularMigration': 'Irregular migration', 'cat.NaturalHazards': 'Natural hazards', 'cat.Health': 'Health',
    switchTo: 'Passer en français', reader: 'read-only', analyst: 'analyst',
  },
};

let lang = sessionStorage.getItem('lang') === 'en' ? 'en' : 'fr';

export const getLang = () => lang;
export function setLang(value) { lang = value; sessionStorage.setItem('lang', value); }
export const t = key => strings[lang][key] ?? strings.fr[key] ?? key;

const regionNames = { fr: new Intl.DisplayNames(['fr'], { type: 'region' }), en: new Intl.DisplayNames(['en'], { type: 'region' }) };
export function countryName(code, fallback) {
  if (!code) return fallback ?? '';
  try { return regionNames[lang].of(code) ?? fallback ?? code; } catch { return fallback ?? code; }
}
export const localized = text => (text ? (text[lang] || text.fr || text.en || '') : '');
export function formatTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'short', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso)) + ' UTC';
}
export function formatSeconds(s) {
  if (s === null || s === undefined) return '—';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
export function applyStatic(root = document) {
  document.documentElement.lang = lang;
  root.querySelectorAll('[data-i18n]').forEach(el => { el.textContent = t(el.dataset.i18n); });
}
