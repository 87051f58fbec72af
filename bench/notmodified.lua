-- wrk: GET the agent's checks with If-None-Match (the 304 path)
function init(args)
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN1")
   wrk.headers["If-None-Match"] = os.getenv("ETAG")
end

function response(status, headers, body)
   if status ~= 304 then
      print("unexpected status " .. status)
   end
end
