package org.veille.testanalysis;

import java.util.function.UnaryOperator;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.PorterStemFilter;
import org.apache.lucene.analysis.en.EnglishPossessiveFilter;
import org.apache.lucene.analysis.en.KStemFilter;
import org.apache.lucene.analysis.fr.FrenchLightStemFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/**
 * The `stemmer` filter for the languages Veille's template names, with the Lucene
 * classes analysis-common maps them to. Any other language is refused when a field is
 * analysed, so a template change that needs more fails the tests instead of stemming
 * differently (Elasticsearch also builds this factory with no settings when it starts
 * an index, so the constructor must not refuse).
 */
@NamedComponent("stemmer")
public class StemmerFilterFactory implements TokenFilterFactory {
    private final UnaryOperator<TokenStream> stemmer;

    @Inject
    public StemmerFilterFactory(StemmerSettings settings) {
        String language = settings.language();
        switch (language) {
            case "light_french" -> stemmer = FrenchLightStemFilter::new;
            case "light_english" -> stemmer = KStemFilter::new;
            case "possessive_english" -> stemmer = EnglishPossessiveFilter::new;
            case "english" -> stemmer = PorterStemFilter::new;
            default -> stemmer = input -> {
                throw new IllegalArgumentException(
                    "the veille-test-analysis plugin has no stemmer [" + language
                        + "]: add it, mapped as analysis-common maps it");
            };
        }
    }

    @Override
    public TokenStream create(TokenStream input) {
        return stemmer.apply(input);
    }
}
