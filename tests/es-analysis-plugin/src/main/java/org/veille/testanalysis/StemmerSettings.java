package org.veille.testanalysis;

import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.StringSetting;

/** The settings of a `stemmer` filter. */
@AnalysisSettings
public interface StemmerSettings {
    @StringSetting(path = "language", defaultValue = "english")
    String language();
}
