^XA
^CI28
^PW{width_dots}
^LL{height_dots}
^FO16,14^A0N,26,26^FB250,2,0,L^FH^FD{product_name}^FS
^FO16,72^A0N,22,22^FH^FDS/N {serial}^FS
^FO16,104^A0N,20,20^FDPassword^FS
^FO16,128^A0N,32,32^FH^FD{password}^FS
^FO16,176^A0N,16,16^FH^FDkey {key_id} batch {batch}^FS
^FO268,14^BQN,2,4^FH^FDQA,{qr}^FS
^XZ
