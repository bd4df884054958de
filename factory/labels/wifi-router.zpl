^XA
^CI28
^PW{width_dots}
^LL{height_dots}
^FO16,14^A0N,26,26^FB300,1,0,L^FH^FD{product_name}^FS
^FO16,48^A0N,22,22^FH^FDS/N {serial}^FS
^FO16,80^A0N,20,20^FDWi-Fi password^FS
^FO16,104^A0N,30,30^FH^FD{password}^FS
^FO16,146^A0N,18,18^FDScan to join^FS
^FO16,200^A0N,14,14^FH^FDkey {key_id} batch {batch} gen {generation}^FS
^FO330,14^BQN,2,4^FH^FDQA,{qr}^FS
^XZ
