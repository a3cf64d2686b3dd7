"""Stories: reposts, retweets and syndicated copies grouped under their first mention."""
