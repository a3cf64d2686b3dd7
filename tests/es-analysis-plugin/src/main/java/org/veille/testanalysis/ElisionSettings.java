package org.veille.testanalysis;

import java.util.List;
import org.elasticsearch.plugin.settings.AnalysisSettings;
import org.elasticsearch.plugin.settings.BooleanSetting;
import org.elasticsearch.plugin.settings.ListSetting;

/** The settings of an `elision` filter, named as analysis-common names them. */
@AnalysisSettings
public interface ElisionSettings {
    @ListSetting(path = "articles")
    List<String> articles();

    @BooleanSetting(path = "articles_case", defaultValue = false)
    boolean articlesCase();
}
