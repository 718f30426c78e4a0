"""credreports: the IAM credential report of every active account, in one bucket."""
