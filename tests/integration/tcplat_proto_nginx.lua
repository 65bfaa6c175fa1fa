-- wrk script for tcplat_proto_nginx.sh: 8 requests per write on each
-- connection (HTTP/1.1 pipelining), 4 for /x/file and 4 for /y/file.
-- wrk counts the requests in the string and expects as many responses.
function init(args)
	local r = {}
	for i = 1, 8 do
		r[i] = wrk.format(nil, i % 2 == 0 and "/x/file" or "/y/file")
	end
	req = table.concat(r)
end

function request()
	return req
end
