// The dashboard's words in French and English, and numbers and dates as each language
// writes them (Intl, built into the browser). Loaded first: dashboard.js, triage.js and
// charts.js call `t(key, params)` and `I18n.*`. The words are those of the reports and
// alert notifications (services/reports/wording.py, services/alerting/notifiers/wording.py)
// so the product says the same thing everywhere. Text from the API (explanations,
// warnings, problem details) is never translated here: the page words what the API gives
// as a code (a refusal's, refusals.js), and shows the rest as the API gives it.
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
    "error.loadUnreachable": {
      en: "Could not load the dashboard: the server did not answer (check the connection, then try again).",
      fr: "Impossible de charger le tableau de bord\u00a0: le serveur n'a pas répondu (vérifiez la connexion, puis réessayez).",
    },
    "error.loadUnavailable": {
      en: "Could not load the dashboard: the mention index is unavailable for now; try again in a moment.",
      fr: "Impossible de charger le tableau de bord\u00a0: l'index des mentions est indisponible pour le moment\u00a0; réessayez dans un instant.",
    },
    "error.loadInternal": {
      en: "Could not load the dashboard: something went wrong on the server (error {id} in its log).",
      fr: "Impossible de charger le tableau de bord\u00a0: une erreur s'est produite sur le serveur (erreur {id} dans son journal).",
    },
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
    // Source kinds (codes from the API), named; a kind not listed shows as its code.
    "sourceKind.feed": { en: "feed (RSS, Atom)", fr: "flux (RSS, Atom)" },
    "sourceKind.web": { en: "website", fr: "site web" },
    "sourceKind.import": { en: "import", fr: "import" },
    "sourceKind.demo": { en: "demo", fr: "démo" },
    "sourceKind.hackernews": { en: "Hacker News", fr: "Hacker News" },
    "sourceKind.reddit": { en: "Reddit", fr: "Reddit" },
    "sourceKind.mastodon": { en: "Mastodon", fr: "Mastodon" },
    "sourceKind.bluesky": { en: "Bluesky", fr: "Bluesky" },
    "sourceKind.youtube": { en: "YouTube", fr: "YouTube" },
    "sourceKind.x": { en: "X", fr: "X" },
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
    // a kind the page does not know (an older or newer server's): named, not a bare code
    "alert.otherKind": { en: "Alert of kind “{code}”", fr: "Alerte de type «\u00a0{code}\u00a0»" },
    "alertStatus.firing": { en: "firing", fr: "en cours" },
    "alertStatus.resolved": { en: "resolved", fr: "terminée" },
    "alert.why": {
      en: "observed {observed} vs {expected} expected (score {score}, needs {threshold})",
      fr: "observé {observed} contre {expected} attendu (score {score}, seuil {threshold})",
    },
    "alert.baseline": { en: "baseline: {method}", fr: "référence\u00a0: {method}" },
    "alert.title": { en: "{rule}: {kind} ({status})", fr: "{rule}\u00a0: {kind} ({status})" },
    // A brand's default rule, named by the server "Veloria: volume spike" (its parts come
    // with it: services/alerting/default_rules.py), in the page's words.
    "ruleName.volume_spike": { en: "{target}: volume spike", fr: "{target}\u00a0: pic de volume" },
    "ruleName.negative_share_spike": { en: "{target}: negative share", fr: "{target}\u00a0: part négative" },
    "ruleName.drop": { en: "{target}: drop", fr: "{target}\u00a0: baisse" },
    // How an alert's "expected" was computed (the API's `baseline`, the parts stored with
    // the event: services/alerting/explanation.py), as the notifications word it.
    "baseline.median": {
      en: "median of {season} over {window}{level}; score unit = the usual excess of the {percentile} percentile of residuals over the same window",
      fr: "médiane {season} sur {window}{level}\u00a0; unité du score\u00a0: l'écart habituel du {percentile} centile des résidus sur la même fenêtre",
    },
    "baseline.level": {
      en: " x robust level (median observed/seasonal ratio over {window})",
      fr: " × niveau robuste (médiane du rapport observé/saisonnier sur {window})",
    },
    "baseline.ofAll": { en: "all buckets", fr: "de toutes les périodes" },
    "baseline.ofHour": { en: "same hour of day", fr: "de la même heure de la journée" },
    "baseline.ofWeekday": { en: "same hour of the same weekday", fr: "de la même heure du même jour de la semaine" },
    "baseline.upper": { en: "99th", fr: "99e" },
    "baseline.lower": { en: "1st", fr: "1er" },
    "baseline.pooled": {
      en: "pooled negative share ({season}, else all buckets) over {window}; scale = binomial sd",
      fr: "part négative cumulée ({season}, sinon toutes les périodes) sur {window}\u00a0; échelle\u00a0: écart type binomial",
    },
    "baseline.pooledAll": {
      en: "pooled negative share (all buckets) over {window}; scale = binomial sd",
      fr: "part négative cumulée (toutes les périodes) sur {window}\u00a0; échelle\u00a0: écart type binomial",
    },
    "baseline.hour": { en: "same hour of day", fr: "même heure de la journée" },
    "baseline.weekday": { en: "same hour of the same weekday", fr: "même heure du même jour de la semaine" },
    "baseline.newMentions": {
      en: "new matching mentions (by time stored)",
      fr: "nouvelles mentions correspondantes (par date d'enregistrement)",
    },
    "baseline.digest": {
      one: { en: "{period} digest of {count} alert ({kinds})", fr: "résumé {period} de {count} alerte ({kinds})" },
      other: { en: "{period} digest of {count} alerts ({kinds})", fr: "résumé {period} de {count} alertes ({kinds})" },
    },
    "baseline.daily": { en: "daily", fr: "quotidien" },
    "baseline.weekly": { en: "weekly", fr: "hebdomadaire" },
    "baseline.lastDays": {
      one: { en: "the last day", fr: "le dernier jour" },
      other: { en: "the last {count} days", fr: "les {count} derniers jours" },
    },
    "baseline.lastHours": {
      one: { en: "the last hour", fr: "la dernière heure" },
      other: { en: "the last {count} hours", fr: "les {count} dernières heures" },
    },
    "baseline.lastMinutes": {
      one: { en: "the last minute", fr: "la dernière minute" },
      other: { en: "the last {count} minutes", fr: "les {count} dernières minutes" },
    },
    "baseline.lastSeconds": {
      one: { en: "the last second", fr: "la dernière seconde" },
      other: { en: "the last {count} seconds", fr: "les {count} dernières secondes" },
    },
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
    // Why a channel cannot send yet (the API's `warning_codes`: services/alerting/channels.py).
    "channelWarning.secret_not_set": {
      en: "{channel}: secret {name} is not set; deliveries will fail until it is.",
      fr: "{channel}\u00a0: le secret {name} n'est pas défini\u00a0; les envois échoueront tant qu'il ne le sera pas.",
    },
    "channelWarning.smtp_host_not_set": {
      en: "{channel}: {name} is not set; email deliveries will fail until it is.",
      fr: "{channel}\u00a0: {name} n'est pas défini\u00a0; les envois par e-mail échoueront tant qu'il ne le sera pas.",
    },
    "channelWarning.secret_unusable": {
      en: "{channel}: secret {name} cannot be read; deliveries will fail until it can.",
      fr: "{channel}\u00a0: le secret {name} ne peut pas être lu\u00a0; les envois échoueront tant qu'il ne pourra pas l'être.",
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
    "rule.searchDeleted": {
      en: "its saved search “{name}” was deleted: point the rule at another search or delete it",
      fr: "sa recherche enregistrée «\u00a0{name}\u00a0» a été supprimée\u00a0: dirigez la règle vers une autre recherche ou supprimez-la",
    },
    "sensitivity.low": { en: "low", fr: "faible" },
    "sensitivity.medium": { en: "medium", fr: "moyenne" },
    "sensitivity.high": { en: "high", fr: "forte" },
    "ruleStatus.active": { en: "active", fr: "active" },
    "ruleStatus.disabled": { en: "turned off", fr: "désactivée" },
    "ruleStatus.error": { en: "cannot run", fr: "ne peut pas tourner" },
    "report.schedule": { en: "Schedule a report…", fr: "Programmer un rapport…" },
    "report.name": { en: "Name", fr: "Nom" },
    "report.brand": { en: "Brand", fr: "Marque" },
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
    "report.sections": { en: "Sections", fr: "Sections" },
    "report.since": { en: "From", fr: "Du" },
    "report.until": { en: "to", fr: "au" },
    "reportSection.key_figures": { en: "Key figures", fr: "Chiffres clés" },
    "reportSection.volume_sentiment": { en: "Volume and sentiment", fr: "Volume et sentiment" },
    "reportSection.share_of_voice": { en: "Share of voice against competitors", fr: "Part de voix face aux concurrents" },
    "reportSection.topics": { en: "Topics", fr: "Sujets" },
    "reportSection.top_stories": { en: "Top stories", fr: "Histoires les plus reprises" },
    "reportSection.authors_sources": { en: "Authors and sources", fr: "Auteurs et sources" },
    "reportSection.alerts": { en: "Alerts of the period", fr: "Alertes de la période" },
    "reportSection.samples": { en: "Most engaged mentions", fr: "Mentions les plus engagées" },

    // A rule's advanced settings (setup.js, ruleForm): empty means the default, shown.
    "rule.advanced": { en: "Advanced settings", fr: "Réglages avancés" },
    "rule.threshold": { en: "Score threshold", fr: "Seuil de score" },
    "ruleField.bucket": { en: "Bucket", fr: "Intervalle" },
    "ruleField.baseline_window": { en: "Baseline over", fr: "Référence sur" },
    "ruleField.seasonality": { en: "Compared with", fr: "Comparé à" },
    "ruleField.min_volume": { en: "Minimum volume", fr: "Volume minimum" },
    "ruleField.min_ratio": { en: "Minimum ratio to expected", fr: "Rapport minimum à l'attendu" },
    "ruleField.min_share_delta": { en: "Minimum rise of the negative share", fr: "Hausse minimum de la part négative" },
    "ruleField.smoothing": { en: "Buckets averaged", fr: "Intervalles moyennés" },
    "ruleField.min_run": { en: "Anomalous buckets to fire", fr: "Intervalles anormaux pour alerter" },
    "ruleField.end_after": { en: "Normal buckets to end", fr: "Intervalles normaux pour clore" },
    "ruleField.warmup": { en: "History needed first", fr: "Historique requis d'abord" },
    "ruleField.level_window": { en: "Level over", fr: "Niveau sur" },
    "ruleField.noise_floor": { en: "Noise floor", fr: "Plancher de bruit" },
    "ruleField.missing": { en: "A bucket without data", fr: "Un intervalle sans données" },
    "ruleField.cooldown": { en: "Quiet after an alert", fr: "Silence après une alerte" },
    "ruleField.repeat_interval": { en: "Remind every", fr: "Rappeler toutes les" },
    "ruleField.digest": { en: "Delivered", fr: "Envoyées" },
    "ruleField.grouping_window": { en: "Grouped over", fr: "Regroupées sur" },
    "ruleField.max_per_hour": { en: "Messages per hour at most", fr: "Messages par heure au plus" },
    "ruleField.batch_size": { en: "Mentions per message", fr: "Mentions par message" },
    "ruleChoice.none": { en: "all buckets", fr: "tous les intervalles" },
    "ruleChoice.daily": { en: "the same hour of day", fr: "la même heure de la journée" },
    "ruleChoice.weekly": { en: "the same hour and weekday", fr: "la même heure du même jour de la semaine" },
    "ruleChoice.zero": { en: "counts zero", fr: "compte zéro" },
    "ruleChoice.skip": { en: "is skipped", fr: "est ignoré" },
    "ruleChoice.off": { en: "one by one", fr: "une à une" },
    "ruleChoice.digestDaily": { en: "as a daily summary", fr: "en résumé quotidien" },
    "ruleChoice.digestWeekly": { en: "as a weekly summary", fr: "en résumé hebdomadaire" },
    "ruleChoice.default": { en: "default ({value})", fr: "par défaut ({value})" },
    "ruleChoice.never": { en: "never", fr: "jamais" },
    "ruleChoice.auto": { en: "auto", fr: "auto" },
    "duration.s": { en: "seconds", fr: "secondes" },
    "duration.m": { en: "minutes", fr: "minutes" },
    "duration.h": { en: "hours", fr: "heures" },
    "duration.d": { en: "days", fr: "jours" },
    "duration.w": { en: "weeks", fr: "semaines" },

    // The API's refusals, by their code (refusals.js); another code: the API's sentence.
    "setup.seeFields": { en: "see the fields marked", fr: "voir les champs signalés" },
    "problem.name_taken": { en: "this name is already taken: choose another", fr: "ce nom est déjà pris\u00a0: choisissez-en un autre" },
    "problem.not_found": { en: "it no longer exists (deleted meanwhile?)", fr: "introuvable (supprimé entre-temps\u00a0?)" },
    "problem.forbidden": {
      en: "your role ({role}) does not allow this ({permission})",
      fr: "votre rôle ({role}) ne le permet pas ({permission})",
    },
    "problem.no_role_in_this_workspace": { en: "you have no role in this workspace", fr: "vous n'avez pas de rôle dans cet espace de travail" },
    "problem.workspace_archived": { en: "this workspace is archived", fr: "cet espace de travail est archivé" },
    "problem.workspace_mismatch": {
      en: "this key or session belongs to workspace {workspace}",
      fr: "cette clé ou session appartient à l'espace de travail {workspace}",
    },
    "problem.too_far_back": { en: "this date is too far back", fr: "cette date est trop ancienne" },
    "problem.invalid_time_window": { en: "the start must come before the end", fr: "le début doit précéder la fin" },
    "problem.invalid_time": { en: "this date cannot be counted", fr: "cette date ne peut pas être comptée" },
    "problem.rate_limited": {
      en: "too many requests: wait a moment, then try again",
      fr: "trop de requêtes\u00a0: patientez un instant, puis réessayez",
    },
    "problem.unknown_target": { en: "no such brand or saved search", fr: "marque ou recherche enregistrée inconnue" },
    "fieldError.missing": { en: "required", fr: "obligatoire" },
    "fieldError.string_too_long": { en: "{max_length} characters at most", fr: "{max_length} caractères au plus" },
    "fieldError.string_too_short": { en: "{min_length} characters at least", fr: "{min_length} caractères au moins" },
    "fieldError.string_pattern_mismatch": { en: "holds characters not allowed here", fr: "contient des caractères non permis ici" },
    "fieldError.greater_than_equal": { en: "must be {ge} or more", fr: "doit valoir {ge} ou plus" },
    "fieldError.greater_than": { en: "must be more than {gt}", fr: "doit valoir plus de {gt}" },
    "fieldError.less_than_equal": { en: "must be {le} or less", fr: "doit valoir {le} ou moins" },
    "fieldError.less_than": { en: "must be less than {lt}", fr: "doit valoir moins de {lt}" },
    "fieldError.int_parsing": { en: "must be a whole number", fr: "doit être un nombre entier" },
    "fieldError.int_from_float": { en: "must be a whole number", fr: "doit être un nombre entier" },
    "fieldError.float_parsing": { en: "must be a number", fr: "doit être un nombre" },
    "fieldError.literal_error": { en: "must be one of {expected}", fr: "doit être l'une des valeurs {expected}" },
    "fieldError.enum": { en: "must be one of {expected}", fr: "doit être l'une des valeurs {expected}" },
    "fieldError.too_short": { en: "choose at least {min_length}", fr: "choisissez-en au moins {min_length}" },
    "fieldError.too_long": { en: "{max_length} at most", fr: "{max_length} au plus" },
    "fieldError.extra_forbidden": { en: "not a setting this takes", fr: "n'est pas un réglage accepté ici" },
    "fieldError.too_far_back": { en: "too far back", fr: "trop ancienne" },
    "fieldError.not_an_address": {
      en: "“{value}” is neither an email address nor the name of a secret",
      fr: "«\u00a0{value}\u00a0» n'est ni une adresse e-mail ni le nom d'un secret",
    },
    "fieldError.name_unusable": { en: "this name cannot be used here: choose another", fr: "ce nom ne peut pas servir ici\u00a0: choisissez-en un autre" },
    "fieldError.nul_character": { en: "holds a NUL character, which is not allowed", fr: "contient un caractère NUL, non permis" },
    "fieldError.no_section": { en: "choose at least one", fr: "choisissez-en au moins une" },
    "fieldError.period_backwards": {
      en: "the last day comes before the first",
      fr: "le dernier jour précède le premier",
    },
    "fieldError.negative_duration": { en: "must not be negative", fr: "ne doit pas être négative" },
    "fieldError.bucket_too_long": {
      en: "too long for a baseline over {baseline_window}: it needs at least two buckets",
      fr: "trop long pour une référence sur {baseline_window}\u00a0: il en faut au moins deux",
    },
    "fieldError.sensitivity": {
      en: "low, medium, high or a threshold above 0",
      fr: "faible, moyenne, forte ou un seuil au-dessus de 0",
    },
    "fieldError.date_from_datetime_parsing": { en: "choose a day", fr: "choisissez un jour" },

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
  // A kind of source in the page's words ("feed" -> "flux (RSS, Atom)"); a third party's
  // kind as its code.
  const sourceKind = (code) => (`sourceKind.${code}` in MESSAGES ? t(`sourceKind.${code}`) : code);
  // A week: "30 nov. – 6 déc. 2026" / "Nov 30 – Dec 6, 2026".
  const dateRange = (first, last) => dateFormat({ dateStyle: "medium" }).formatRange(asDate(first), asDate(last));
  const shortDay = (value) => dateFormat({ day: "numeric", month: "short" }).format(asDate(value));
  const dateTime = (value) => dateFormat({ dateStyle: "medium", timeStyle: "short" }).format(asDate(value));
  // The time on this screen's clock ("updated 14:35"), for a wall screen.
  const clock = (value) =>
    new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(asDate(value));

  // A time of day ("08:00", as the API keeps it) as this language says it: "08:00" in
  // French, "8:00 AM" in American English (never the browser's own locale, as a native
  // time field would).
  const time = (value) => {
    const [hours, minutes] = String(value).split(":").map(Number);
    if (!Number.isInteger(hours) || !Number.isInteger(minutes)) return String(value);
    // two digits for the hour on a 24-hour clock ("07:30"), as many as needed on a 12-hour one
    const cycle = new Intl.DateTimeFormat(locale(), { hour: "numeric" }).resolvedOptions().hourCycle;
    const hour = cycle === "h23" || cycle === "h24" ? "2-digit" : "numeric";
    return new Intl.DateTimeFormat(locale(), { hour, minute: "2-digit", timeZone: "UTC" })
      .format(new Date(Date.UTC(1970, 0, 1, hours, minutes)));
  };

  // How an alert's "expected" was computed, from the API's `baseline` (a method and its
  // parameters); null for an old event whose sentence had no known shape (shown as it is).
  function baseline(parts) {
    if (!parts) return null;
    const last = (seconds) => {
      const units = [[86400, "baseline.lastDays"], [3600, "baseline.lastHours"], [60, "baseline.lastMinutes"]];
      const [size, key] = units.find(([unit]) => seconds && seconds % unit === 0) || [1, "baseline.lastSeconds"];
      return t(key, { count: seconds / size });
    };
    const span = last(parts.window_seconds || 0);
    if (parts.method === "median") {
      const season = { none: "baseline.ofAll", daily: "baseline.ofHour", weekly: "baseline.ofWeekday" }[parts.season];
      return t("baseline.median", {
        season: t(season || "baseline.ofAll"),
        window: span,
        level: parts.level_seconds ? t("baseline.level", { window: last(parts.level_seconds) }) : "",
        percentile: t(parts.percentile === 1 ? "baseline.lower" : "baseline.upper"),
      });
    }
    if (parts.method === "pooled_share") {
      const season = { daily: "baseline.hour", weekly: "baseline.weekday" }[parts.season];
      return season ? t("baseline.pooled", { season: t(season), window: span }) : t("baseline.pooledAll", { window: span });
    }
    if (parts.method === "new_mentions") return t("baseline.newMentions");
    if (parts.method === "digest") {
      const kind = (code) => alertKind(code).toLowerCase();
      return t("baseline.digest", {
        period: t(parts.digest === "weekly" ? "baseline.weekly" : "baseline.daily"),
        count: parts.count || 0,
        kinds: (parts.kinds || []).map(kind).join(", "),
      });
    }
    return null;
  }

  // An alert's kind in the notifications' words ("Pic de volume"); one the page does not
  // know, named as such with its code made readable ("volume_drop": "volume drop").
  const alertKind = (code) =>
    `alertKind.${code}` in MESSAGES
      ? t(`alertKind.${code}`)
      : t("alert.otherKind", { code: String(code ?? "").replace(/_/g, " ") });

  // A rule's name: a brand's default rule ("Veloria: volume spike", its parts from the API)
  // in the page's words; any other name as it was given.
  const ruleName = (name, parts) =>
    parts && `ruleName.${parts.kind}` in MESSAGES ? t(`ruleName.${parts.kind}`, { target: parts.target }) : name;

  // The page's own texts, written again at each switch wherever they are (an open form's
  // too, leaving its typed values and focus alone): data-i18n (text), data-i18n-placeholder,
  // data-i18n-aria-label, data-i18n-title, each with data-i18n-params (JSON) when it has
  // some; data-i18n-language (a language's code: its name) and data-i18n-time ("08:00").
  function apply(root = document) {
    document.documentElement.lang = lang;
    const shared = { ...context, interval: t(`interval.${context.interval}`) };
    const params = (node) => (node.dataset.i18nParams ? { ...shared, ...JSON.parse(node.dataset.i18nParams) } : shared);
    root.querySelectorAll("[data-i18n]").forEach((node) => {
      node.textContent = t(node.dataset.i18n, params(node));
    });
    root.querySelectorAll("[data-i18n-placeholder]").forEach((node) => {
      node.placeholder = t(node.dataset.i18nPlaceholder, params(node));
    });
    root.querySelectorAll("[data-i18n-aria-label]").forEach((node) => {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel, params(node)));
    });
    root.querySelectorAll("[data-i18n-title]").forEach((node) => {
      node.title = t(node.dataset.i18nTitle, params(node));
    });
    root.querySelectorAll("[data-i18n-language]").forEach((node) => {
      node.textContent = language(node.dataset.i18nLanguage);
    });
    root.querySelectorAll("[data-i18n-time]").forEach((node) => {
      node.textContent = time(node.dataset.i18nTime);
    });
    const picker = document.getElementById("lang");
    if (picker) picker.value = lang;
  }

  // A node whose words are a key of the table: written now, and again on each switch.
  // `where`: its text, or its placeholder, aria-label or title.
  const ATTRIBUTES = { text: "i18n", placeholder: "i18nPlaceholder", "aria-label": "i18nAriaLabel", title: "i18nTitle" };
  function label(node, key, params = {}, where = "text") {
    node.dataset[ATTRIBUTES[where]] = key;
    if (Object.keys(params).length) node.dataset.i18nParams = JSON.stringify(params);
    const text = t(key, params);
    if (where === "text") node.textContent = text;
    else if (where === "placeholder") node.placeholder = text;
    else if (where === "title") node.title = text;
    else node.setAttribute(where, text);
    return node;
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
    sourceKind,
    shortDay,
    dateTime,
    clock,
    time,
    baseline,
    alertKind,
    ruleName,
    apply,
    label,
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
