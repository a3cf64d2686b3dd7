// The dashboard's words in French and English, and numbers and dates as each language
// writes them (Intl, built into the browser). Loaded first: dashboard.js, triage.js and
// charts.js call `t(key, params)` and `I18n.*`. The words are those of the reports and
// alert notifications (services/reports/wording.py, services/alerting/notifiers/wording.py)
// so the product says the same thing everywhere. Text from the API (explanations,
// warnings, problem details) is shown as the API gives it, never translated here.
// No library: a flat table, `{name}` parameters and Intl.PluralRules cover these strings.
"use strict";

const I18n = (() => {
  const LANGUAGES = ["fr", "en"];
  const STORED = "veille.lang"; // localStorage: the person's choice, kept across visits

  // key -> {en, fr}; a plural message is {one, other} (Intl.PluralRules picks, on `count`).
  const MESSAGES = {
    "header.language": { en: "Language", fr: "Langue" },
    "header.workspace": { en: "Workspace", fr: "Espace de travail" },
    "header.brand": { en: "Brand", fr: "Marque" },
    "header.period": { en: "Period", fr: "Période" },
    "period.7": { en: "last 7 days", fr: "7 derniers jours" },
    "period.30": { en: "last 30 days", fr: "30 derniers jours" },
    "period.90": { en: "last 90 days", fr: "90 derniers jours" },
    "period.custom": { en: "dates…", fr: "dates…" },
    "header.from": { en: "From", fr: "Du" },
    "header.to": { en: "to", fr: "au" },
    "header.autoRefresh": { en: "Auto-refresh", fr: "Actualisation" },
    "refresh.off": { en: "off", fr: "désactivée" },
    "refresh.60": { en: "every minute", fr: "chaque minute" },
    "refresh.300": { en: "every 5 minutes", fr: "toutes les 5 minutes" },
    "header.refresh": { en: "Refresh", fr: "Actualiser" },
    "header.signOut": { en: "Sign out", fr: "Se déconnecter" },
    "header.loading": { en: "Loading…", fr: "Chargement…" },
    "header.updated": { en: "updated {time}", fr: "mis à jour à {time}" },

    "login.key": { en: "API key", fr: "Clé d'API" },
    "login.open": { en: "Open the dashboard", fr: "Ouvrir le tableau de bord" },
    "login.keyHintBefore": { en: "Create a key with", fr: "Créez une clé avec" },
    "login.keyHintAfter": {
      en: ". It is kept in this browser tab only, and sent to this server alone.",
      fr: ". Elle n'est gardée que dans cet onglet, et envoyée à ce seul serveur.",
    },
    "login.name": { en: "Name or email", fr: "Nom ou e-mail" },
    "login.password": { en: "Password", fr: "Mot de passe" },
    "login.signIn": { en: "Sign in", fr: "Se connecter" },
    "login.passwordHintBefore": { en: "Or sign in as a person (", fr: "Ou connectez-vous en personne (" },
    "login.passwordHintAfter": {
      en: "): a session cookie of this server, valid 12 hours.",
      fr: ")\u00a0: un cookie de session de ce serveur, valable 12 heures.",
    },
    "login.oidc": { en: "Sign in with", fr: "Se connecter avec" },
    "login.refused": {
      en: "This API key was refused: check it, or create one.",
      fr: "Cette clé d'API a été refusée\u00a0: vérifiez-la, ou créez-en une.",
    },
    "login.failed": {
      en: "Sign-in failed: check your name or email and your password.",
      fr: "Échec de la connexion\u00a0: vérifiez votre nom ou e-mail et votre mot de passe.",
    },

    "error.load": { en: "Could not load the dashboard: {message}", fr: "Impossible de charger le tableau de bord\u00a0: {message}" },
    "error.noBrand": {
      en: "No brand is watched yet: add one to the workspace (brands:) or POST /api/v1/brands.",
      fr: "Aucune marque n'est encore suivie\u00a0: ajoutez-en une à l'espace de travail (brands:) ou POST /api/v1/brands.",
    },
    "error.noDays": { en: "choose a first and a last day", fr: "choisissez un premier et un dernier jour" },
    "error.daysReversed": { en: "the last day comes before the first", fr: "le dernier jour précède le premier" },

    "kpi.mentions": { en: "Mentions of {brand}", fr: "Mentions de {brand}" },
    "kpi.negative": { en: "Negative toward it", fr: "Négatives envers la marque" },
    "kpi.net": { en: "Net sentiment", fr: "Sentiment net" },
    "kpi.netFormula": {
      en: "(positive − negative) / (positive + negative)",
      fr: "(positives − négatives) / (positives + négatives)",
    },
    "kpi.alerts": { en: "Alerts", fr: "Alertes" },
    "kpi.noneBefore": {
      one: { en: "none on the previous day", fr: "aucune la veille" },
      other: { en: "none in the previous {count} days", fr: "aucune les {count} jours précédents" },
    },
    "kpi.change": {
      one: { en: "{change} on the previous day", fr: "{change} par rapport à la veille" },
      other: { en: "{change} on the previous {count} days", fr: "{change} par rapport aux {count} jours précédents" },
    },
    "kpi.points": { en: "{points} pts", fr: "{points} pts" },

    "panel.sentiment": { en: "Sentiment toward {brand}, per {interval}", fr: "Sentiment envers {brand}, par {interval}" },
    "panel.sentimentHint": {
      en: "Click a bar for its mentions; ▲ marks an alert that fired that day.",
      fr: "Cliquez sur une barre pour voir ses mentions\u00a0; ▲ marque une alerte déclenchée ce jour-là.",
    },
    "panel.mentions": { en: "Mentions", fr: "Mentions" },
    "panel.competitors": {
      en: "Competitors over time: mentions naming each",
      fr: "Concurrents dans le temps\u00a0: mentions citant chacun",
    },
    "panel.net": { en: "Net sentiment toward each, per {interval}", fr: "Sentiment net envers chacun, par {interval}" },
    "panel.shareOfVoice": { en: "Share of voice", fr: "Part de voix" },
    "panel.topics": { en: "Topics", fr: "Sujets" },
    "panel.negativeTerms": {
      en: "Words of the mentions negative toward {brand}",
      fr: "Mots des mentions négatives envers {brand}",
    },
    "panel.sources": { en: "Sources", fr: "Sources" },
    "panel.kinds": { en: "Kinds of source", fr: "Types de source" },
    "panel.languages": { en: "Languages", fr: "Langues" },
    "panel.saved": { en: "Saved searches", fr: "Recherches enregistrées" },
    "panel.negativeMentions": {
      en: "Latest mentions negative toward {brand}",
      fr: "Dernières mentions négatives envers {brand}",
    },
    "panel.alerts": { en: "Latest alerts", fr: "Dernières alertes" },
    "panel.triage": {
      en: "Triage inbox: negative mentions of {brand}",
      fr: "Boîte de tri\u00a0: mentions négatives de {brand}",
    },
    "interval.day": { en: "day", fr: "jour" },
    "interval.week": { en: "week", fr: "semaine" },

    "column.name": { en: "name", fr: "nom" },
    "column.mentions": { en: "mentions", fr: "mentions" },
    "column.share": { en: "share", fr: "part" },
    "column.net": { en: "net sentiment", fr: "sentiment net" },
    "column.topic": { en: "topic", fr: "sujet" },
    "column.word": { en: "word", fr: "mot" },
    "column.source": { en: "source", fr: "source" },
    "column.kind": { en: "kind", fr: "type" },
    "column.language": { en: "language", fr: "langue" },
    "table.empty": { en: "nothing in this period", fr: "rien sur la période" },
    "list.empty": { en: "none in this period", fr: "aucune sur la période" },
    "saved.none": { en: "none yet", fr: "aucune pour l'instant" },
    "saved.empty": {
      en: "none yet: search above, then save the search",
      fr: "aucune pour l'instant\u00a0: cherchez plus haut, puis enregistrez la recherche",
    },

    "explore.query": { en: "Query", fr: "Requête" },
    "explore.search": { en: "Search", fr: "Rechercher" },
    "explore.export": { en: "Export", fr: "Exporter" },
    "explore.wholePeriod": { en: "whole period", fr: "toute la période" },
    "explore.idle": {
      en: "mentions: click a number on this page, or search",
      fr: "mentions\u00a0: cliquez sur un nombre de cette page, ou cherchez",
    },
    "explore.matching": { en: "mentions matching the query", fr: "mentions qui répondent à la requête" },
    "explore.drilled": { en: "mentions {note}", fr: "mentions {note}" },
    "explore.none": { en: "no mention matches", fr: "aucune mention ne correspond" },
    "explore.newest": {
      one: { en: "the newest one: export them all", fr: "la plus récente\u00a0: exportez-les toutes" },
      other: { en: "the newest {count}: export them all", fr: "les {count} plus récentes\u00a0: exportez-les toutes" },
    },
    "explore.window": { en: "{since} → {until} UTC", fr: "{since} → {until} UTC" },

    // What a clicked number counted, after "mentions …" (explore.drilled).
    "note.of": { en: "of {brand}", fr: "de {brand}" },
    "note.negativeOf": { en: "negative toward {brand}, of {total}", fr: "négatives envers {brand}, sur {total}" },
    "note.polar": { en: "positive or negative toward {brand}", fr: "positives ou négatives envers {brand}" },
    "note.polarOn": { en: "positive or negative toward {brand}, {day}", fr: "positives ou négatives envers {brand}, {day}" },
    "note.negative": { en: "negative toward {brand}, {day}", fr: "négatives envers {brand}, {day}" },
    "note.neutral": { en: "neutral toward {brand}, {day}", fr: "neutres envers {brand}, {day}" },
    "note.positive": { en: "positive toward {brand}, {day}", fr: "positives envers {brand}, {day}" },
    "note.mentioningOn": { en: "mentioning {brand}, {day}", fr: "citant {brand}, {day}" },
    "note.naming": { en: "naming {name}", fr: "citant {name}" },
    "note.about": { en: "about {key}", fr: "sur le sujet {key}" },
    "note.from": { en: "from {key}", fr: "de la source {key}" },
    "note.fromKind": { en: "from a source of kind {key}", fr: "d'une source de type {key}" },
    "note.in": { en: "in {key}", fr: "en {key}" },
    "note.word": { en: "negative toward {brand}, with “{word}”", fr: "négatives envers {brand}, avec «\u00a0{word}\u00a0»" },
    "note.alert": { en: "counted by the alert “{rule}”", fr: "comptées par l'alerte «\u00a0{rule}\u00a0»" },
    "note.saved": { en: "saved search {name}", fr: "de la recherche enregistrée {name}" },

    "chart.sentimentLabel": {
      en: "{total} mentions of {brand}, per {interval}, by sentiment toward it",
      fr: "{total} mentions de {brand}, par {interval}, selon le sentiment envers la marque",
    },
    "chart.competitorsLabel": { en: "mentions naming {names}, per {interval}", fr: "mentions citant {names}, par {interval}" },
    "chart.netLabel": { en: "net sentiment toward each, per {interval}", fr: "sentiment net envers chacun, par {interval}" },
    "chart.alert": { en: "alert", fr: "alerte" },

    "sentiment.negative": { en: "negative", fr: "négatif" },
    "sentiment.neutral": { en: "neutral", fr: "neutre" },
    "sentiment.positive": { en: "positive", fr: "positif" },

    "mention.copies": {
      one: { en: "{count} copy", fr: "{count} copie" },
      other: { en: "{count} copies", fr: "{count} copies" },
    },
    "mention.open": { en: "open", fr: "ouvrir" },
    "mention.why": { en: "why: {words}", fr: "pourquoi\u00a0: {words}" },

    // Alert kinds and statuses (codes from the API), in the notifications' words
    // (services/alerting/notifiers/wording.py; tests/api/test_dashboard_i18n.py compares).
    "alertKind.volume_spike": { en: "Volume spike", fr: "Pic de volume" },
    "alertKind.negative_share_spike": { en: "Negative share spike", fr: "Hausse de la part négative" },
    "alertKind.drop": { en: "Unusual drop", fr: "Baisse inhabituelle" },
    "alertKind.new_mention": { en: "New mentions", fr: "Nouvelles mentions" },
    "alertKind.digest": { en: "Alert digest", fr: "Résumé des alertes" },
    "alertStatus.firing": { en: "firing", fr: "en cours" },
    "alertStatus.resolved": { en: "resolved", fr: "terminée" },
    "alert.why": {
      en: "observed {observed} vs {expected} expected (score {score}, needs {threshold})",
      fr: "observé {observed} contre {expected} attendu (score {score}, seuil {threshold})",
    },
    "alert.baseline": { en: "baseline: {method}", fr: "référence\u00a0: {method}" },
    "alert.at": { en: "{when} UTC", fr: "{when} UTC" },
    "alert.mentions": { en: "the mentions it counted", fr: "les mentions comptées" },

    // Setting up and taking down (setup.js): saved searches, alert rules, reports.
    "setup.cancel": { en: "Cancel", fr: "Annuler" },
    "setup.delete": { en: "Delete", fr: "Supprimer" },
    "setup.edit": { en: "Edit…", fr: "Modifier…" },
    "setup.saveChanges": { en: "Save the changes", fr: "Enregistrer les modifications" },
    "setup.refused": { en: "Refused: {reason}", fr: "Refusé\u00a0: {reason}" },
    "panel.rules": { en: "Alert rules", fr: "Règles d'alerte" },
    "panel.reports": { en: "Reports", fr: "Rapports" },
    "saved.saveThis": { en: "Save this search…", fr: "Enregistrer cette recherche…" },
    "saved.name": { en: "Name", fr: "Nom" },
    "saved.description": { en: "Description", fr: "Description" },
    "saved.shareIt": { en: "shared with the workspace", fr: "partagée avec l'espace de travail" },
    "saved.save": { en: "Save", fr: "Enregistrer" },
    "saved.saved": { en: "Search “{name}” saved.", fr: "Recherche «\u00a0{name}\u00a0» enregistrée." },
    "saved.noQuery": {
      en: "Type a query first: an empty search cannot be saved.",
      fr: "Tapez d'abord une requête\u00a0: une recherche vide ne s'enregistre pas.",
    },
    "saved.shared": { en: "shared", fr: "partagée" },
    "saved.alertRule": { en: "Alert me…", fr: "M'alerter…" },
    "saved.confirmDelete": {
      en: "Delete the saved search “{name}”?",
      fr: "Supprimer la recherche enregistrée «\u00a0{name}\u00a0»\u00a0?",
    },
    "saved.usedByRule": { en: "the alert rule “{name}”", fr: "la règle d'alerte «\u00a0{name}\u00a0»" },
    "saved.usedByReport": { en: "the report “{name}”", fr: "le rapport «\u00a0{name}\u00a0»" },
    "saved.inUse": { en: "“{name}” is used by {users}.", fr: "«\u00a0{name}\u00a0» sert à {users}." },
    "saved.inUseRules": {
      en: "Deleting it anyway turns those alert rules off.",
      fr: "La supprimer quand même désactive ces règles d'alerte.",
    },
    "saved.inUseReports": {
      en: "Those reports then refuse to render until edited.",
      fr: "Ces rapports refusent alors de se générer tant qu'ils ne sont pas modifiés.",
    },
    "saved.changed": { en: "Saved search “{name}” changed.", fr: "Recherche enregistrée «\u00a0{name}\u00a0» modifiée." },
    "saved.renamed": {
      en: "Saved search “{old}” renamed “{name}”; its alert rules and reports follow it.",
      fr: "Recherche enregistrée «\u00a0{old}\u00a0» renommée «\u00a0{name}\u00a0»\u00a0; ses règles d'alerte et rapports la suivent.",
    },
    "saved.forceDelete": { en: "Delete anyway", fr: "Supprimer quand même" },
    "saved.deleted": { en: "Saved search “{name}” deleted.", fr: "Recherche enregistrée «\u00a0{name}\u00a0» supprimée." },
    "saved.forceDeleted": {
      en: "Saved search “{name}” deleted; the alert rules on it are turned off.",
      fr: "Recherche enregistrée «\u00a0{name}\u00a0» supprimée\u00a0; ses règles d'alerte sont désactivées.",
    },
    "rule.name": { en: "Rule name", fr: "Nom de la règle" },
    "rule.kind": { en: "Alert on", fr: "Alerter sur" },
    "rule.sensitivity": { en: "Sensitivity", fr: "Sensibilité" },
    "rule.create": { en: "Create the rule", fr: "Créer la règle" },
    "rule.created": {
      en: "Alert rule “{name}” created on “{search}”: its alerts show on this board.",
      fr: "Règle d'alerte «\u00a0{name}\u00a0» créée sur «\u00a0{search}\u00a0»\u00a0: ses alertes s'affichent sur ce tableau.",
    },
    "rule.createdNotSent": {
      one: {
        en: "Alert rule “{name}” created on “{search}”, but its channel cannot send yet: {warnings}",
        fr: "Règle d'alerte «\u00a0{name}\u00a0» créée sur «\u00a0{search}\u00a0», mais son canal ne peut pas encore envoyer\u00a0: {warnings}",
      },
      other: {
        en: "Alert rule “{name}” created on “{search}”, but not all its channels can send yet: {warnings}",
        fr: "Règle d'alerte «\u00a0{name}\u00a0» créée sur «\u00a0{search}\u00a0», mais ses canaux ne peuvent pas encore tous envoyer\u00a0: {warnings}",
      },
    },
    "rule.createdSent": {
      one: {
        en: "Alert rule “{name}” created on “{search}”: its alerts show on this board and are sent to its channel.",
        fr: "Règle d'alerte «\u00a0{name}\u00a0» créée sur «\u00a0{search}\u00a0»\u00a0: ses alertes s'affichent sur ce tableau et sont envoyées à son canal.",
      },
      other: {
        en: "Alert rule “{name}” created on “{search}”: its alerts show on this board and are sent to its {count} channels.",
        fr: "Règle d'alerte «\u00a0{name}\u00a0» créée sur «\u00a0{search}\u00a0»\u00a0: ses alertes s'affichent sur ce tableau et sont envoyées à ses {count} canaux.",
      },
    },
    "rule.changed": { en: "Alert rule “{name}” changed.", fr: "Règle d'alerte «\u00a0{name}\u00a0» modifiée." },
    "rule.renamed": {
      en: "Alert rule “{old}” renamed “{name}”; its past alerts stay listed under its old name.",
      fr: "Règle d'alerte «\u00a0{old}\u00a0» renommée «\u00a0{name}\u00a0»\u00a0; ses alertes passées restent listées sous l'ancien nom.",
    },
    "rule.changedNotSent": {
      en: "Alert rule “{name}” changed, but not all its channels can send yet: {warnings}",
      fr: "Règle d'alerte «\u00a0{name}\u00a0» modifiée, mais ses canaux ne peuvent pas encore tous envoyer\u00a0: {warnings}",
    },
    "rule.enabled": { en: "active", fr: "active" },
    "rule.channelKind": { en: "Channel", fr: "Canal" },
    "rule.addChannel": { en: "Add a channel", fr: "Ajouter un canal" },
    "rule.removeChannel": { en: "Remove this channel", fr: "Retirer ce canal" },
    "rule.channel": { en: "Also send to", fr: "Envoyer aussi par" },
    "rule.secret": { en: "Secret holding the address or URL", fr: "Secret contenant l'adresse ou l'URL" },
    "rule.secretNotValue": {
      en: "Refused: name the secret that holds the address or URL (such as VEILLE_SLACK_WEBHOOK), never the address or URL itself.",
      fr: "Refusé\u00a0: nommez le secret qui contient l'adresse ou l'URL (comme VEILLE_SLACK_WEBHOOK), jamais l'adresse ou l'URL elle-même.",
    },
    "rule.sentTo": { en: "sent by {channels}", fr: "envoyée par {channels}" },
    "rule.boardOnly": { en: "on this board only", fr: "sur ce tableau seulement" },
    "channel.none": { en: "nothing (this board only)", fr: "rien (ce tableau seulement)" },
    "channel.email": { en: "email", fr: "e-mail" },
    "channel.slack": { en: "Slack", fr: "Slack" },
    "channel.webhook": { en: "webhook", fr: "webhook" },
    "channelExample.email": { en: "e.g. VEILLE_ALERT_EMAIL", fr: "p. ex. VEILLE_ALERT_EMAIL" },
    "channelExample.slack": { en: "e.g. VEILLE_SLACK_WEBHOOK", fr: "p. ex. VEILLE_SLACK_WEBHOOK" },
    "channelExample.webhook": { en: "e.g. VEILLE_WEBHOOK_URL", fr: "p. ex. VEILLE_WEBHOOK_URL" },
    "rule.onSearch": { en: "saved search “{name}”", fr: "recherche «\u00a0{name}\u00a0»" },
    "rule.onBrand": { en: "brand {name}", fr: "marque {name}" },
    "rule.default": { en: "default rule", fr: "règle par défaut" },
    "rule.confirmDelete": { en: "Delete the alert rule “{name}”?", fr: "Supprimer la règle d'alerte «\u00a0{name}\u00a0»\u00a0?" },
    "rule.deleted": {
      en: "Alert rule “{name}” deleted; its past alerts stay listed.",
      fr: "Règle d'alerte «\u00a0{name}\u00a0» supprimée\u00a0; ses alertes passées restent listées.",
    },
    "rule.none": { en: "none for this brand", fr: "aucune pour cette marque" },
    "sensitivity.low": { en: "low", fr: "faible" },
    "sensitivity.medium": { en: "medium", fr: "moyenne" },
    "sensitivity.high": { en: "high", fr: "forte" },
    "sensitivity.custom": { en: "threshold {value}", fr: "seuil {value}" },
    "ruleStatus.active": { en: "active", fr: "active" },
    "ruleStatus.disabled": { en: "turned off", fr: "désactivée" },
    "ruleStatus.error": { en: "cannot run", fr: "ne peut pas tourner" },
    "report.schedule": { en: "Schedule a report…", fr: "Programmer un rapport…" },
    "report.name": { en: "Name", fr: "Nom" },
    "report.periodLabel": { en: "Covering", fr: "Couvrant" },
    "report.languageLabel": { en: "Language", fr: "Langue" },
    "report.everyLabel": { en: "Sent", fr: "Envoyé" },
    "report.weekly": { en: "every Monday", fr: "chaque lundi" },
    "report.monthly": { en: "on the 1st of each month", fr: "le 1er de chaque mois" },
    "report.at": { en: "at", fr: "à" },
    "report.recipients": { en: "To (emails, commas between)", fr: "À (e-mails, séparés par des virgules)" },
    "report.create": { en: "Schedule", fr: "Programmer" },
    "report.created": {
      en: "Report “{name}” scheduled.",
      fr: "Rapport «\u00a0{name}\u00a0» programmé.",
    },
    "report.onDemand": { en: "on demand", fr: "à la demande" },
    "report.changed": { en: "Report “{name}” changed.", fr: "Rapport «\u00a0{name}\u00a0» modifié." },
    "report.renamed": {
      en: "Report “{old}” renamed “{name}”; its past renders follow it.",
      fr: "Rapport «\u00a0{old}\u00a0» renommé «\u00a0{name}\u00a0»\u00a0; ses rendus passés le suivent.",
    },
    "report.to": { en: "to {recipients}", fr: "à {recipients}" },
    "report.fromConfig": {
      en: "from the workspace's configuration: change it there",
      fr: "de la configuration de l'espace de travail\u00a0: modifiez-le là",
    },
    "report.confirmDelete": { en: "Delete the report “{name}”?", fr: "Supprimer le rapport «\u00a0{name}\u00a0»\u00a0?" },
    "report.deleted": { en: "Report “{name}” deleted.", fr: "Rapport «\u00a0{name}\u00a0» supprimé." },
    "report.none": { en: "none yet", fr: "aucun pour l'instant" },
    "reportEvery.week": { en: "every Monday at {at} ({zone})", fr: "chaque lundi à {at} ({zone})" },
    "reportEvery.month": { en: "on the 1st at {at} ({zone})", fr: "le 1er du mois à {at} ({zone})" },
    "reportPeriod.last_week": { en: "last week", fr: "la semaine passée" },
    "reportPeriod.last_month": { en: "last month", fr: "le mois passé" },
    "reportPeriod.last_quarter": { en: "last quarter", fr: "le trimestre passé" },
    "reportPeriod.custom": { en: "chosen days", fr: "jours choisis" },

    "triage.show": { en: "Show", fr: "Afficher" },
    "triage.counts": {
      en: "{total} to show · all negative toward {brand}: {states}",
      fr: "{total} à afficher · toutes les négatives envers {brand}\u00a0: {states}",
    },
    "triage.empty": { en: "nothing to triage", fr: "rien à trier" },
    "triage.notes": {
      one: { en: "· {count} note", fr: "· {count} note" },
      other: { en: "· {count} notes", fr: "· {count} notes" },
    },
    "triage.answeredStory": {
      en: "this story was answered {when} UTC by {who}",
      fr: "cette histoire a reçu une réponse le {when} UTC, de {who}",
    },
    "triage.copies": {
      one: { en: "· {count} copy", fr: "· {count} copie" },
      other: { en: "· {count} copies", fr: "· {count} copies" },
    },
    "triage.onePerCopy": { en: "one row per copy", fr: "une ligne par copie" },
    "triage.changesCopies": {
      one: { en: "changes {count} copy", fr: "change {count} copie" },
      other: { en: "changes {count} copies", fr: "change {count} copies" },
    },
    "triage.someone": { en: "someone", fr: "quelqu'un" },
    "triage.state": { en: "state", fr: "état" },
    "triage.assignMe": { en: "assign to me", fr: "me l'attribuer" },
    "triage.tag": { en: "tag", fr: "étiquette" },
    "triage.addTag": { en: "add tag", fr: "ajouter l'étiquette" },
    "triage.note": { en: "note", fr: "note" },
    "triage.addNote": { en: "add note", fr: "ajouter la note" },
    "triage.storyAnswered": {
      en: "mark all of this story answered",
      fr: "marquer toute cette histoire comme répondue",
    },
    "triage.storyAnsweredScope": {
      en: "changes the copies of this story in the state {state}",
      fr: "change les copies de cette histoire à l'état {state}",
    },
    "triage.storyAnsweredDone": {
      one: { en: "{count} copy of the story marked answered", fr: "{count} copie de l'histoire marquée répondue" },
      other: { en: "{count} copies of the story marked answered", fr: "{count} copies de l'histoire marquées répondues" },
    },
    "triage.storyAnsweredNone": {
      en: "nothing changed: the copies of this story were already handled",
      fr: "rien n'a changé\u00a0: les copies de cette histoire étaient déjà traitées",
    },
    "triage.stateSet": {
      one: { en: "{count} mention set to {state}", fr: "{count} mention passée à l'état {state}" },
      other: { en: "{count} mentions set to {state}", fr: "{count} mentions passées à l'état {state}" },
    },
    "triage.changed": {
      one: { en: "{count} mention changed", fr: "{count} mention modifiée" },
      other: { en: "{count} mentions changed", fr: "{count} mentions modifiées" },
    },
    "triage.noteAdded": { en: "Note added.", fr: "Note ajoutée." },
    "triage.nothingChanged": {
      en: "nothing changed: it already was so",
      fr: "rien n'a changé\u00a0: c'était déjà le cas",
    },
    "triage.sentimentCorrected": {
      one: {
        en: "Sentiment toward {brand} corrected to {label} on {count} mention.",
        fr: "Sentiment envers {brand} corrigé en {label} sur {count} mention.",
      },
      other: {
        en: "Sentiment toward {brand} corrected to {label} on {count} mentions (its copies too).",
        fr: "Sentiment envers {brand} corrigé en {label} sur {count} mentions (ses copies aussi).",
      },
    },
    "triage.notAboutDone": {
      one: { en: "{count} mention no longer counted for {brand}.", fr: "{count} mention n'est plus comptée pour {brand}." },
      other: {
        en: "{count} mentions no longer counted for {brand} (its copies too).",
        fr: "{count} mentions ne sont plus comptées pour {brand} (ses copies aussi).",
      },
    },
    "triage.removeTag": { en: "remove the tag {tag}", fr: "retirer l'étiquette {tag}" },
    "triage.sentimentToward": { en: "sentiment toward {brand}", fr: "sentiment envers {brand}" },
    "triage.sentimentIs": { en: "sentiment toward {brand} is…", fr: "le sentiment envers {brand} est…" },
    "triage.notAbout": { en: "not about {brand}", fr: "ne parle pas de {brand}" },
    // A state, as the query language names it (services/core/triage.py), and counted.
    "state.new": { en: "new", fr: "nouveau" },
    "state.in_progress": { en: "in progress", fr: "en cours" },
    "state.answered": { en: "answered", fr: "répondu" },
    "state.escalated": { en: "escalated", fr: "escaladé" },
    "state.ignored": { en: "ignored", fr: "ignoré" },
    "stateCount.new": {
      one: { en: "{count} new", fr: "{count} nouvelle" },
      other: { en: "{count} new", fr: "{count} nouvelles" },
    },
    "stateCount.in_progress": {
      one: { en: "{count} in progress", fr: "{count} en cours" },
      other: { en: "{count} in progress", fr: "{count} en cours" },
    },
    "stateCount.answered": {
      one: { en: "{count} answered", fr: "{count} répondue" },
      other: { en: "{count} answered", fr: "{count} répondues" },
    },
    "stateCount.escalated": {
      one: { en: "{count} escalated", fr: "{count} escaladée" },
      other: { en: "{count} escalated", fr: "{count} escaladées" },
    },
    "stateCount.ignored": {
      one: { en: "{count} ignored", fr: "{count} ignorée" },
      other: { en: "{count} ignored", fr: "{count} ignorées" },
    },
  };

  // ?lang= in the address, then the switcher's choice, then the browser's language.
  function choose() {
    const asked = new URLSearchParams(location.search).get("lang");
    if (LANGUAGES.includes(asked)) return { lang: asked, pinned: true };
    let stored = null;
    try {
      stored = localStorage.getItem(STORED);
    } catch { /* storage refused (a private window): the browser's language */ }
    if (LANGUAGES.includes(stored)) return { lang: stored, pinned: false };
    const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "";
    return { lang: browser.toLowerCase().startsWith("fr") ? "fr" : "en", pinned: false };
  }

  let { lang, pinned } = choose();
  // The page's static texts' parameters: the brand shown, its interval (day or week).
  let context = { brand: "", interval: "day" };
  const missing = new Set(); // keys asked for and not in the table (the tests read it)
  const listeners = [];

  // The browser's own variant of the language when it has one (fr-CA, en-GB), for dates.
  const locale = () =>
    (navigator.languages || []).find((l) => l.toLowerCase().split("-")[0] === lang) || lang;

  function message(key, count) {
    const entry = MESSAGES[key];
    if (!entry) return null;
    if (entry.other) {
      const rule = new Intl.PluralRules(locale()).select(Number(count) || 0);
      return (entry[rule] || entry.other)[lang];
    }
    return entry[lang];
  }

  // One message in the chosen language; numbers among the parameters are formatted.
  function t(key, params = {}) {
    const text = message(key, params.count);
    if (text === null || text === undefined) {
      missing.add(key);
      return key;
    }
    return text.replace(/\{(\w+)\}/g, (whole, name) => {
      if (!(name in params)) return whole;
      const value = params[name];
      return typeof value === "number" ? number(value) : String(value ?? "");
    });
  }

  const number = (value, options = {}) => new Intl.NumberFormat(locale(), options).format(value);
  // 0.625 -> "63%" / "63 %"; `digits` decimals at most; "–" when there is nothing to divide.
  const percent = (ratio, { digits = 0, sign = false } = {}) =>
    ratio === null || ratio === undefined || !Number.isFinite(ratio)
      ? "–"
      : number(ratio, { style: "percent", maximumFractionDigits: digits, signDisplay: sign ? "exceptZero" : "auto" });
  // Net sentiment: "+0.21" / "+0,21"; "–" for none.
  const signed = (value, digits = 2) =>
    value === null || value === undefined
      ? "–"
      : number(value, { minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: "exceptZero" });
  const points = (value) => t("kpi.points", { points: number(value, { signDisplay: "exceptZero" }) });

  // Dates are UTC, as the API's buckets and windows are: "7 déc. 2026" / "Dec 7, 2026".
  const asDate = (value) => (value instanceof Date ? value : new Date(value));
  const dateFormat = (options) => new Intl.DateTimeFormat(locale(), { timeZone: "UTC", ...options });
  const date = (value) => dateFormat({ dateStyle: "medium" }).format(asDate(value));
  // A language's code as this language names it: "en" -> "anglais" / "English"; a code
  // Intl does not know as it is.
  const language = (code) => {
    try {
      return new Intl.DisplayNames(locale(), { type: "language" }).of(code) || code;
    } catch {
      return code;
    }
  };
  // A week: "30 nov. – 6 déc. 2026" / "Nov 30 – Dec 6, 2026".
  const dateRange = (first, last) => dateFormat({ dateStyle: "medium" }).formatRange(asDate(first), asDate(last));
  const shortDay = (value) => dateFormat({ day: "numeric", month: "short" }).format(asDate(value));
  const dateTime = (value) => dateFormat({ dateStyle: "medium", timeStyle: "short" }).format(asDate(value));
  // The time on this screen's clock ("updated 14:35"), for a wall screen.
  const clock = (value) =>
    new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(asDate(value));

  // The page's own texts: data-i18n (text), data-i18n-placeholder, data-i18n-aria-label.
  function apply(root = document) {
    document.documentElement.lang = lang;
    const params = { ...context, interval: t(`interval.${context.interval}`) };
    root.querySelectorAll("[data-i18n]").forEach((node) => {
      node.textContent = t(node.dataset.i18n, params);
    });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
      node.placeholder = t(node.dataset.i18nPlaceholder, params);
    });
    root.querySelectorAll("[data-i18n-aria-label]").forEach((node) => {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel, params));
    });
    const picker = document.getElementById("lang");
    if (picker) picker.value = lang;
  }

  function setContext(params) {
    context = { ...context, ...params };
    apply();
  }

  // The switcher: remembered in this browser, and above a ?lang= the address had, which
  // it drops (so that a reload keeps the choice), even when it names the same language.
  function use(wanted) {
    if (!LANGUAGES.includes(wanted)) return;
    try {
      localStorage.setItem(STORED, wanted);
    } catch { /* not remembered: this page still switches */ }
    pinned = false;
    const address = new URL(location.href);
    if (address.searchParams.has("lang")) {
      address.searchParams.delete("lang");
      history.replaceState(history.state, "", address.pathname + address.search + address.hash);
    }
    switchTo(wanted);
  }

  // Back or forward to another address: the language it names (?lang=), else the one
  // remembered; nothing is stored.
  function follow() {
    const chosen = choose();
    pinned = chosen.pinned;
    switchTo(chosen.lang);
  }

  function switchTo(wanted) {
    if (wanted === lang) return;
    lang = wanted;
    apply();
    listeners.forEach((listener) => listener(lang));
  }

  return {
    t,
    number,
    percent,
    signed,
    points,
    date,
    dateRange,
    language,
    shortDay,
    dateTime,
    clock,
    apply,
    setContext,
    use,
    follow,
    onChange: (listener) => listeners.push(listener),
    lang: () => lang,
    locale,
    pinned: () => pinned, // the address chose the language: links keep ?lang=
    messages: MESSAGES,
    missing,
  };
})();

const t = I18n.t;
I18n.apply();
document.getElementById("lang").addEventListener("change", (event) => I18n.use(event.target.value));
