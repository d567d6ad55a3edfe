-- wrk script: the floor, a POST like the API calls.
wrk.method = "POST"
