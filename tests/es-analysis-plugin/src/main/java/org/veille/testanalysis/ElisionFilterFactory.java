package org.veille.testanalysis;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.util.ElisionFilter;
import org.elasticsearch.plugin.Inject;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** The `elision` filter: drops the listed articles before an apostrophe (l'avis -> avis). */
@NamedComponent("elision")
public class ElisionFilterFactory implements TokenFilterFactory {
    private final CharArraySet articles;

    @Inject
    public ElisionFilterFactory(ElisionSettings settings) {
        // Built with no settings too when an index starts: then Lucene's French articles.
        this.articles = settings.articles().isEmpty()
            ? FrenchAnalyzer.DEFAULT_ARTICLES
            : new CharArraySet(settings.articles(), settings.articlesCase());
    }

    @Override
    public TokenStream create(TokenStream input) {
        return new ElisionFilter(input, articles);
    }

    @Override
    public TokenStream normalize(TokenStream input) {
        return create(input);
    }
}
