"""What a batch writes once its runs are over: the summary files and page, the plan, the
calendar, each account's report and merchant message."""
